"""hookline._whatsapp_split has two statements: a small one for the common shape (one entry,
one change, one message or one status, at most one contact: hookline._whatsapp_one_item) and
the general one for everything else. They must split alike: every fixture and many variants
of each (shapes at the edge of the common one, on both sides) give the same events either
way. The general statement is reached for any body by giving it sanitised pointers of none
('[]'), which the common shape excludes and which changes nothing else."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from tests.ingress_helpers import FIXTURES

Body = dict[str, Any]


def value(body: Body) -> Body:
    return body["entry"][0]["changes"][0]["value"]


def items(body: Body) -> list[Body]:
    v = value(body)
    return [i for k in ("messages", "statuses") for i in (v.get(k) or []) if isinstance(i, dict)]


def set_items(key: str, val: object) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        for item in items(body):
            item[key] = val

    return change


def drop_items(key: str) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        for item in items(body):
            item.pop(key, None)

    return change


def other_kind(body: Body) -> None:
    v = value(body)
    if "messages" in v:
        v["statuses"] = [{"id": "wamid.S", "status": "sent", "recipient_id": "1"}]
    else:
        v["messages"] = [{"id": "wamid.M", "type": "text", "from": "1"}]


VARIANTS: dict[str, Callable[[Body], None]] = {
    "as is": lambda b: None,
    "no contacts": lambda b: value(b).pop("contacts"),
    "contacts null": lambda b: value(b).__setitem__("contacts", None),
    "a contact that is no object": lambda b: value(b).__setitem__("contacts", [1]),
    "two contacts": lambda b: value(b)["contacts"].append({"wa_id": "9", "user_id": "US.9"}),
    "a contact of someone else": lambda b: value(b).__setitem__(
        "contacts", [{"wa_id": "other", "user_id": "US.other", "profile": {"name": "X"}}]
    ),
    "a contact without ids": lambda b: value(b).__setitem__("contacts", [{"profile": {}}]),
    "no id": drop_items("id"),
    "an empty id": set_items("id", ""),
    "an overlong id": set_items("id", "x" * 600),
    "errors next to it": lambda b: value(b).__setitem__("errors", [{"code": 131000}]),
    "messages null": lambda b: value(b).__setitem__("messages", None),
    "statuses an object": lambda b: value(b).__setitem__("statuses", {"id": "wamid.O"}),
    "an item that is no object": lambda b: [
        value(b).__setitem__(k, [1]) for k in ("messages", "statuses") if k in value(b)
    ],
    "two items": lambda b: [
        value(b)[k].append(dict(value(b)[k][0], id="wamid.TWO"))
        for k in ("messages", "statuses")
        if isinstance(value(b).get(k), list) and value(b)[k]
    ],
    "a message and a status": other_kind,
    "an echo next to it": lambda b: value(b).__setitem__("message_echoes", [{"id": "wamid.E"}]),
    "a key more at the top": lambda b: b.__setitem__("extra", {"a": 1}),
    "an entry time": lambda b: b["entry"][0].__setitem__("time", 1700000000),
    "a bad entry time": lambda b: b["entry"][0].__setitem__("time", "soon"),
    "a bad timestamp": set_items("timestamp", "abc"),
    "no timestamp": drop_items("timestamp"),
    "a call status": set_items("type", "call"),
    "field calls": lambda b: b["entry"][0]["changes"][0].__setitem__("field", "calls"),
    "no field": lambda b: b["entry"][0]["changes"][0].pop("field"),
    "field history": lambda b: b["entry"][0]["changes"][0].__setitem__("field", "history"),
    "a group status": set_items("recipient_type", "group"),
    "a group status, no contacts": lambda b: (
        set_items("recipient_type", "group")(b),
        value(b).pop("contacts", None),
    ),
    "a participant": set_items("recipient_participant_id", "777"),
    "a participant's scoped id": set_items("recipient_participant_user_id", "US.P"),
    "no from": drop_items("from"),
    "no recipient": drop_items("recipient_id"),
    "a type that is no word": set_items("type", "Weird Type!"),
    "an upper-case type": set_items("type", "TEXT"),
    "no status": drop_items("status"),
    "no metadata": lambda b: value(b).pop("metadata"),
    "two entries": lambda b: b["entry"].append(copy.deepcopy(b["entry"][0])),
    "two changes": lambda b: b["entry"][0]["changes"].append(
        copy.deepcopy(b["entry"][0]["changes"][0])
    ),
    "value null": lambda b: b["entry"][0]["changes"][0].__setitem__("value", None),
    "non-ASCII text": set_items(
        "text", {"body": "h\u00e9llo \u0645\u0631\u062d\u0628\u0627 \U0001f44d"}
    ),
}


def bodies() -> Iterator[tuple[str, str]]:
    for path in sorted(FIXTURES.glob("*.json")):
        text = path.read_text()
        yield path.stem, text
        for name, change in VARIANTS.items():
            body = json.loads(text)
            try:
                change(body)
            except (KeyError, IndexError, TypeError, AttributeError):
                continue  # the variant does not apply to this shape
            yield f"{path.stem}: {name}", json.dumps(body)


SPLIT = "select w.* from hookline._whatsapp_split(%s::jsonb[], %s::jsonb[]) with ordinality w order by w.req, w.ordinality"


def test_the_common_shape_splits_as_the_general_statement(db: str) -> None:
    cases = list(bodies())
    common = 0
    with psycopg.connect(db, autocommit=True) as conn:
        for name, text in cases:
            one = conn.execute("select hookline._whatsapp_one_item(%s::jsonb, null)", (text,))
            common += one.fetchone()[0]
            either = conn.execute(SPLIT, ([text], None)).fetchall()
            general = conn.execute(SPLIT, ([text], ["[]"])).fetchall()
            assert [r[:-1] for r in either] == [r[:-1] for r in general], name
        # A group mixing both: each body keeps its events, in body order.
        texts = [text for _name, text in cases[:40]]
        either = conn.execute(SPLIT, (texts, None)).fetchall()
        general = conn.execute(SPLIT, (texts, ["[]"] * len(texts))).fetchall()
        assert [r[:-1] for r in either] == [r[:-1] for r in general]
    assert common >= 60, f"the variants reach the common shape ({common} of {len(cases)})"
    assert len(cases) - common >= 300, "and the general statement"
