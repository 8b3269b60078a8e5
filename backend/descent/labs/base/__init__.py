"""The lab base (lab.py) and what it is made of: pacing, snapshots, the planned-LR curve."""

from descent.labs.base.lab import Lab, Rebuilt, changed_fields, finite
from descent.labs.base.pace import Pace
from descent.labs.base.snapshots import Unbuilt

__all__ = ["Lab", "Pace", "Rebuilt", "Unbuilt", "changed_fields", "finite"]
