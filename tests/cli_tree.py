"""The `hookline` command tree, walked from click: every test that covers "every command"
derives its list from here, so commands added later are covered without editing a list."""

from __future__ import annotations

from collections.abc import Iterator

import click

from hookline.cli import main

# Commands that run a service until stopped: tests only parse their arguments.
SERVICES = {("runner",), ("ingress",), ("up",)}


def leaf_commands(
    group: click.Group = main, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from leaf_commands(command, path)
        else:
            yield path, command
