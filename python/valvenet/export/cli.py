"""`valvenet export c|...`: what leaves training for the device (C code today)."""

from __future__ import annotations

import argparse

from valvenet.export import c_code

FORMATS = {"c": (c_code, "C source for the streaming engine (firmware and host)")}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    formats = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
    for name, (module, help_text) in FORMATS.items():
        sub = formats.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(export_run=module.run)


def run(args: argparse.Namespace) -> int:
    return int(args.export_run(args))
