"""The small text corpus shipped in the repo (text.txt), shared by the labs that learn to
predict characters (attention, rnn), so the same text compares a transformer with a
recurrent network. Torch-free; outside any lab's package, since a lab imports no other lab."""

from __future__ import annotations

from pathlib import Path

# lower case, one line: a vocabulary of about 30 characters
TEXT = " ".join((Path(__file__).parent / "text.txt").read_text(encoding="utf-8").lower().split())
