"""The page's one path from the registries: every label it shows and every "fields this
choice reads" comes from /api/schema (x-labels, x-titles, x-uses, field titles), and the
list of labs with their titles too; the frontend keeps no label tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from descent.labs import LAB_NAMES
from descent.nn.optimizers import OPTIMIZERS
from descent.nn.schedules import SCHEDULES
from descent.server.schema import json_schema
from tests.conftest import ROOT


def models(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """A lab's config schema and each model in its $defs (an arena racer ...)."""
    yield "config", config
    for name, model in config.get("$defs", {}).items():
        if "properties" in model:
            yield name, model


def choices(prop: dict[str, Any]) -> list[Any] | None:
    return prop.get("enum") or prop.get("items", {}).get("enum")


def test_labs_come_in_order_with_their_titles() -> None:
    labs = json_schema()["labs"]
    assert list(labs) == list(LAB_NAMES)
    assert {name: lab["title"] for name, lab in labs.items()} == {
        "mlp": "Playground", "attention": "Attention", "arena": "Arena", "backprop": "Backprop", "cnn": "Convolution",
        "rnn": "Recurrent"}


def test_every_choice_names_each_value_and_every_use_is_a_field() -> None:
    seen = 0
    for lab, entry in json_schema()["labs"].items():
        for model, schema in models(entry["config"]):
            for key, prop in schema["properties"].items():
                values = choices(prop)
                if not values or key == "lab":
                    continue
                seen += 1
                where = f"{lab} {model}.{key}"
                assert set(prop.get("x-labels", {})) == set(values), f"{where}: x-labels must name every value"
                assert all(isinstance(v, str) and v for v in prop["x-labels"].values()), where
                for value, uses in prop.get("x-uses", {}).items():
                    missing = set(uses) - set(schema["properties"])
                    assert not missing, f"{where}: {value} uses {missing}, not fields of {model}"
    assert seen >= 14  # (mlp 9, attention 6, arena 3, backprop 1, at the time of writing)


def test_labels_come_from_the_registries_meta() -> None:
    labs = json_schema()["labs"]
    mlp = labs["mlp"]["config"]["properties"]
    racer = labs["arena"]["config"]["$defs"]["Racer"]["properties"]
    for props in (mlp, racer, labs["attention"]["config"]["properties"]):
        assert props["optimizer"]["x-titles"] == {e.name: e.meta["label"] for e in OPTIMIZERS}
        assert props["optimizer"]["x-uses"]["adam"] == list(OPTIMIZERS["adam"].meta["uses"])
    assert mlp["optimizer"]["x-labels"]["momentum"] == "Momentum"  # (meta short: its name in a list)
    assert mlp["schedule"]["x-labels"]["warmup_cosine"] == "Warmup + cosine"
    assert mlp["schedule"]["x-uses"] == {e.name: list(e.meta["uses"]) for e in SCHEDULES}
    # hyper-parameter labels: one title per field, which a lab may word its own way
    assert (mlp["beta1"]["title"], mlp["rho"]["title"], mlp["eps"]["title"]) == ("β₁", "ρ", "ε")
    assert (mlp["momentum"]["title"], racer["momentum"]["title"]) == ("momentum", "momentum β")
    assert labs["attention"]["config"]["properties"]["gamma"]["title"] == "Gamma (LR multiplier)"


LABEL_TABLE = re.compile(r"\b[A-Z_]*LABELS\b|\b[A-Z_]*NAMES\s*=\s*\{|\blabel:\s*\"")


def test_the_frontend_keeps_no_label_tables() -> None:
    """Labels live in the schema; a view's control table says only key, kind and where."""
    found = []
    for path in sorted((ROOT / "frontend" / "js").rglob("*.js")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if LABEL_TABLE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "label tables in the page:\n" + "\n".join(found)
