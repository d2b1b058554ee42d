"""Ablations: the LLM engine with one part of its pipeline switched off, side by side.

    python -m benchmarks.accuracy.ablate --variant full --variant no-names --variant plain \
        --set spider_fresh --set spider_dev_more [--quiet]

starts the local model (`local_llm.serve`) and asks every chosen question once per variant:
`full` is the engine as shipped, `no-<part>` the engine without one part (`Pipeline` fields,
see `VARIANTS`), `plain` the one-message baseline (`plain_prompt`). Each variant is reported
like an engine by `run.report`, so a rule keeps its place only if its `no-` variant scores less.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import fields, replace

from nlsql_server.engines.llm.options import Pipeline

from . import local_llm, plain_prompt
from .questions import load
from .run import Outcome, answer, report, select, services_for

#: Variant name → what differs from the shipped pipeline.
VARIANTS: dict[str, dict[str, object]] = {"full": {}} | {
    f"no-{f.name.replace('_', '-')}": {f.name: False}
    for f in fields(Pipeline)
    if isinstance(f.default, bool)
}


async def _run(args: argparse.Namespace) -> list[Outcome]:
    chosen = select(load(), args)
    services = services_for(None, chosen)
    shipped = services.nlp.llm.options
    outcomes: list[Outcome] = []
    try:
        for variant in args.variant:
            started = time.perf_counter()
            for q in chosen:
                if variant == plain_prompt.ENGINE:
                    outcomes.append(await plain_prompt.answer(services, q))
                    continue
                services.nlp.llm.options = replace(shipped, **VARIANTS[variant])  # type: ignore[arg-type]
                outcomes.append(replace(await answer(services, q, "llm"), engine=variant))
            seconds = time.perf_counter() - started
            print(f"{variant}: {len(chosen)} questions in {seconds:.1f} s", file=sys.stderr)
    finally:
        services.close()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy.ablate", description=__doc__
    )
    parser.add_argument(
        "--variant",
        action="append",
        choices=[*VARIANTS, plain_prompt.ENGINE],
        required=True,
        help="full, plain, or the pipeline without one part (repeatable)",
    )
    parser.add_argument("--set", action="append", help="only this question file (repeatable)")
    parser.add_argument("--split", action="append", help="only this split (repeatable)")
    parser.add_argument("--db", action="append", help="only this database (repeatable)")
    parser.add_argument("--id", action="append", help="only this question id (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="figures only, no list of misses")
    args = parser.parse_args(argv)
    args.shape = None
    with local_llm.serve() as url:
        os.environ.update(local_llm.engine_env(url))
        report(asyncio.run(_run(args)), show_misses=not args.quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
