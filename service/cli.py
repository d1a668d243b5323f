"""`healthfaq` command line: build, serve, search — thin wrappers over the same functions."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path

from service.index import version as V
from service.index.errors import CorpusError
from service.settings import SETTINGS_TABLE, Settings, SettingsError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="healthfaq", description="Search the publisher's health articles.")
    commands = parser.add_subparsers(dest="command")

    build = commands.add_parser("build", help="build the index from the corpus and publish it")
    _setting_flags(build, "build")
    build.add_argument("--synonyms", type=Path, help="synonyms file (default: corpus/synonyms.txt)")
    build.set_defaults(run=_build)

    serve = commands.add_parser("serve", help="serve the API and pages (builds the index when missing)")
    _setting_flags(serve, "serve")
    serve.set_defaults(run=_serve)

    gaps = commands.add_parser("gaps", help="the most frequent questions that found nothing (opt-in log)")
    _setting_flags(gaps, "gaps")
    gaps.add_argument("--top", type=int, default=20, help="how many questions to list (default 20)")
    gaps.add_argument("--json", action="store_true", help="print JSON: [{question, count}]")
    gaps.set_defaults(run=_gaps)

    search = commands.add_parser("search", help="print the best passages for a question")
    search.add_argument("question")
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--article", help="only passages of this article slug")
    search.add_argument("--json", action="store_true", help="print the API's JSON")
    _setting_flags(search, "search")
    search.set_defaults(run=_search)

    explain = commands.add_parser(
        "explain", help="for editors: why a question gets (or does not get) an emergency notice or care advice"
    )
    explain.add_argument("question")
    _setting_flags(explain, "explain")
    explain.set_defaults(run=_explain)

    check = commands.add_parser(
        "check-rules",
        help="for editors: score emergency rules and care advice against labelled questions before publishing a change",
    )
    check.add_argument(
        "--questions",
        type=Path,
        action="append",
        required=True,
        help="JSON Lines: {qid, query, urgent: rule id or null} and/or {care: true|false}; repeat for several files",
    )
    check.add_argument("--rules", type=Path, help="an edited urgent.yaml to score instead of the index's own")
    check.add_argument(
        "--split",
        choices=["all", "tune", "holdout"],
        default="all",
        help="score one half of each file (split by a hash of each qid) or all of it",
    )
    check.add_argument(
        "--show", type=int, default=10, help="list up to N misses, false alarms and wrong rules (default 10)"
    )
    _setting_flags(check, "check-rules")
    check.set_defaults(run=_check_rules)
    return parser


def _setting_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """The flags of the settings this subcommand takes, made from the declared table in
    settings.py, so a flag, its --help and the README's table say the same thing. The text typed
    is kept as text: settings.py reads and checks it like the variable's (see _settings)."""
    for spec in SETTINGS_TABLE:
        if command in spec.commands and spec.flag:
            parser.add_argument(
                spec.flag,
                dest=spec.name,
                metavar=spec.flag.lstrip("-").upper().replace("-", "_"),
                help=spec.help.replace("%", "%%"),
            )


def _settings(args: argparse.Namespace) -> Settings:
    """The environment's settings with this command's flags on top; a bad value of either raises
    SettingsError, which main() prints as one line."""
    given = {
        spec.name: getattr(args, spec.name) for spec in SETTINGS_TABLE if getattr(args, spec.name, None) is not None
    }
    return Settings.from_env_and_flags(given)


def _build(args: argparse.Namespace) -> int:
    from service.build.corpus import CorpusWarning
    from service.build.indexer import BuildLockedError, build_index
    from service.index.semantic import load_encoder

    settings = _settings(args)
    encoder = load_encoder(settings.embedding_model)
    if encoder is None:
        print("warning: no sentence-embedding model: building a lexical-only index", file=sys.stderr)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CorpusWarning)
            try:
                report = build_index(
                    settings.corpus_path,
                    settings.index_dir,
                    synonyms=args.synonyms,
                    procs=settings.build_procs,
                    encoder=encoder,
                )
            finally:
                _print_warnings(caught)
    except CorpusError as exc:
        print(f"error: {exc.path}:{exc.line}: {exc.reason}", file=sys.stderr)
        print("the index was not changed", file=sys.stderr)
        return 1
    except BuildLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return V.BUILD_LOCKED_EXIT  # try again later
    except OSError as exc:  # a file named on the command line that is not there, a full disk
        print(f"error: {exc.filename or 'build'}: {exc.strerror or exc}", file=sys.stderr)
        print("the index was not changed", file=sys.stderr)
        return 1
    print(
        f"built {report.version}: {report.articles} articles, {report.passages} passages "
        f"in {report.seconds:.2f} s -> {settings.index_dir}"
    )
    return 0


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Corpus warnings as `file:line: warning: reason` (like the errors); others as Python shows them."""
    from service.build.corpus import CorpusWarning

    for warning in caught:
        if isinstance(warning.message, CorpusWarning):
            print(f"{warning.message.path}:{warning.message.line}: warning: {warning.message.reason}", file=sys.stderr)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings(args)
    if V.current_version(settings.index_dir) is None:
        # A bad corpus stops the command here, naming the file and line. A good one is built by
        # the server itself, which meanwhile answers /healthz "starting" and /readyz 503.
        if not settings.build_if_missing:
            print(
                f"error: no index in {settings.index_dir} and HEALTHFAQ_BUILD_IF_MISSING is off; "
                "run `healthfaq build` first",
                file=sys.stderr,
            )
            return 1
        from service.build.corpus import load_articles

        try:
            load_articles(settings.corpus_path)
        except CorpusError as exc:
            print(
                f"error: no index in {settings.index_dir}, and the corpus cannot be indexed: "
                f"{exc.path}:{exc.line}: {exc.reason}",
                file=sys.stderr,
            )
            return 1
        print(
            f"no index in {settings.index_dir}; the server builds it from {settings.corpus_path} "
            "(/readyz answers 503 until it is loaded)",
            file=sys.stderr,
        )
    # Worker processes build their own Settings from the environment: hand the flags over.
    os.environ["HEALTHFAQ_INDEX_DIR"] = str(settings.index_dir)
    os.environ["HEALTHFAQ_CORPUS_PATH"] = str(settings.corpus_path)
    os.environ["HEALTHFAQ_EMBEDDING_MODEL"] = settings.embedding_model
    options = uvicorn_options(settings)
    if settings.workers <= 1:
        uvicorn.run("service.app:create_app", **options)
        return 0
    from uvicorn.supervisors import Multiprocess

    # uvicorn's own multi-worker socket is made without IPPROTO_TCP, so asyncio never sets
    # TCP_NODELAY on its connections and every keep-alive response waits ~40 ms for the
    # client's delayed ACK. Binding the socket here, as TCP, gives workers what one worker gets.
    config = uvicorn.Config("service.app:create_app", **options)
    Multiprocess(config, sockets=[_tcp_listener(settings.host, settings.port)]).run()
    return 0


def uvicorn_options(settings: Settings) -> dict:
    """uvicorn's configuration for `serve`: our JSON access log instead of uvicorn's (which prints
    query strings), in-flight requests finish on SIGTERM, idle keep-alive connections are closed."""
    return dict(
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        log_config=_log_config(),
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.keep_alive_timeout,
    )


def _tcp_listener(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[
        0
    ]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


def _log_config() -> dict:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO"},
            "healthfaq": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def _gaps(args: argparse.Namespace) -> int:
    from service.web.gaps import top_gaps

    path = _settings(args).gaps_file
    if path is None:
        print(
            "error: no content-gaps log: set HEALTHFAQ_GAPS_FILE for `serve` (off by default, so "
            "questions are never stored) or pass --file",
            file=sys.stderr,
        )
        return 2
    if args.top < 1:
        print("error: --top must be at least 1", file=sys.stderr)
        return 2
    try:
        gaps = top_gaps(path, args.top)
    except FileNotFoundError:
        gaps = []
    if args.json:
        print(json.dumps([{"question": q, "count": n} for q, n in gaps], ensure_ascii=False, indent=2))
    elif not gaps:
        print(f"no zero-result questions recorded in {path}")
    else:
        width = len(str(gaps[0][1]))
        for question, count in gaps:
            print(f"{count:>{width}}  {question}")
    return 0


def _search(args: argparse.Namespace) -> int:
    from service.index.semantic import load_encoder
    from service.query.search import MAX_LIMIT, SearchRequest, search
    from service.query.store import IndexUnavailable, open_current

    settings = _settings(args)
    if V.current_version(settings.index_dir) is None:
        print(f"error: no index in {settings.index_dir}; run `healthfaq build` first", file=sys.stderr)
        return 1
    if not args.question.strip():
        print("error: the question is empty", file=sys.stderr)
        return 2
    if not 1 <= args.limit <= MAX_LIMIT:
        print(f"error: --limit must be between 1 and {MAX_LIMIT}", file=sys.stderr)
        return 2
    try:
        index = open_current(settings.index_dir, load_encoder(settings.embedding_model))
    except IndexUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.article and args.article not in index.articles:
        print(f"error: no article with slug {args.article!r}", file=sys.stderr)
        return 2
    results = search(index, SearchRequest(q=args.question, limit=args.limit, article=args.article))
    if args.json:  # exactly what the API would answer with this public address
        print(json.dumps(results.to_dict(settings.public_url), ensure_ascii=False, indent=2))
    else:
        base_url = settings.public_url or f"http://{settings.host}:{settings.port}"
        found = results.to_dict(base_url)
        print(format_results(found, _topics_if_nothing(found, index.articles, base_url)))
    return 0


def _topics_if_nothing(results: dict, articles: dict[str, dict], base_url: str) -> list[tuple[str, str]]:
    """Every article (title, link) when nothing answers and nothing is close: what to browse.
    Otherwise none, so an answer is never buried under the site's whole list."""
    if results["results"] or results["related"]:
        return []
    from service.query.topics import site_topics

    return [(t.title, t.url) for t in site_topics(articles, base_url)]


def _open_for_editors(args: argparse.Namespace):
    """The served index with the model, for explain and check-rules; None after printing why not."""
    from service.index.semantic import load_encoder
    from service.query.store import IndexUnavailable, open_current

    settings = _settings(args)
    if V.current_version(settings.index_dir) is None:
        print(f"error: no index in {settings.index_dir}; run `healthfaq build` first", file=sys.stderr)
        return None
    try:
        return open_current(settings.index_dir, load_encoder(settings.embedding_model))
    except IndexUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _reading(index, text: str):
    from service.query.search import read_question

    vector = index.semantic.embed(text) if index.semantic is not None else None
    return read_question(index, text, vector)


def _explain(args: argparse.Namespace) -> int:
    from service.safety.rulecheck import explain

    if not args.question.strip():
        print("error: the question is empty", file=sys.stderr)
        return 2
    index = _open_for_editors(args)
    if index is None:
        return 1
    reading = _reading(index, args.question)
    finding = index.urgent.finding(reading)
    print(f"question: {args.question!r}")
    print(f"emergency notice: {finding.sign.id + ' (by ' + finding.basis + ')' if finding else 'none'}")
    rows = index.care.rows_for(reading)
    print(f"care advice: {', '.join(index.passages[r].section for r in rows) if rows else 'none'}")
    print("\n".join(explain(reading, [("emergency rules", index.urgent.matcher), ("care signs", index.care.matcher)])))
    return 0


def _check_rules(args: argparse.Namespace) -> int:
    from service.build.rulevectors import embedded_detector
    from service.safety.rulecheck import read_labelled, split_of
    from service.safety.urgent import UrgentDetector, parse_rules

    if args.show < 0:
        print("error: --show must be 0 or more", file=sys.stderr)
        return 2
    index = _open_for_editors(args)
    if index is None:
        return 1
    detector = index.urgent
    if args.rules is not None:
        try:
            rules = parse_rules(args.rules.read_text(encoding="utf-8"), str(args.rules))
        except OSError as exc:
            print(f"error: cannot read {args.rules}: {exc.strerror}", file=sys.stderr)
            return 1
        except CorpusError as exc:
            print(f"error: {exc.path}:{exc.line}: {exc.reason}", file=sys.stderr)
            return 1
        if index.semantic is None or detector.ordinary is None:
            detector = UrgentDetector(rules)
        else:
            detector = embedded_detector(rules, index.semantic.embed, detector.ordinary)
    for path in args.questions:
        try:
            questions = read_labelled(path)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if args.split != "all":
            questions = [q for q in questions if split_of(q["qid"]) == args.split]
        _print_scores(path, args, questions, index, detector)
    return 0


def _print_scores(path: Path, args: argparse.Namespace, questions: list[dict], index, detector) -> None:
    """One labelled file's scores: the emergency rules on its "urgent" lines, care advice on its
    "care" lines."""
    from service.safety.rulecheck import score_care, score_urgent

    urgent = [q for q in questions if "urgent" in q]
    care = [q for q in questions if "care" in q]
    print(f"{path} ({args.split}): {len(questions)} questions")
    if urgent:
        urgent_score = score_urgent(urgent, lambda text: detector.finding(_reading(index, text)))
        _print_rows(urgent_score.rows())
        _print_list("missed", [f"[{rule}] {q}" for rule, q in urgent_score.misses], args.show)
        _print_list(
            "false alarms", [f"[{rule}, by {basis}] {q}" for rule, basis, q in urgent_score.false_alarms], args.show
        )
        _print_list("wrong rule", [f"[{want} -> {got}] {q}" for want, got, q in urgent_score.wrong], args.show)
    if care:
        care_score = score_care(care, lambda text: index.care.findings(_reading(index, text)))
        _print_rows(care_score.rows())
        _print_list("care missed", care_score.misses, args.show)
        _print_list("care shown wrongly", [f"[{sign}] {q}" for sign, q in care_score.false_alarms], args.show)


def _print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def _print_list(title: str, items: list[str], show: int) -> None:
    if items and show:
        print(f"  {title} ({len(items)}):")
        for item in items[:show]:
            print(f"    {item}")


def format_results(results: dict, topics: Sequence[tuple[str, str]] = ()) -> str:
    """Plain text for support staff: an emergency notice first, then care advice, then each
    passage with its answering sentence and its citation, then related articles (not answers);
    when nothing answers, the site's ``topics`` (title, link) to browse.

    ``results`` is the API's JSON made with an absolute public address, so every link is whole.
    """
    lines: list[str] = []
    urgent = results.get("urgent")
    if urgent:
        message = f"{urgent['lead']} {urgent['message']}" if urgent.get("lead") else urgent["message"]
        lines += [
            f"EMERGENCY — {urgent['title']}",
            textwrap.indent(message, "  "),
            f"  (Source: {urgent['source']})",
            "",
        ]
    for care in results.get("care_advice") or []:
        lines += [
            "SEE A DOCTOR — " + f"{care['article']['title']} › {care['section']}",
            textwrap.indent(care["text"], "  "),
            f"  {care['url']}",
            "",
        ]
    if results.get("did_you_mean"):
        lines += [f"Did you mean: {results['did_you_mean']}", ""]
    if not results["results"]:
        lines += ["No passage answers that question.", ""]
    for rank, hit in enumerate(results["results"], start=1):
        lines += [f"{rank}. {hit['article']['title']} › {hit['section']}"]
        if hit.get("answer"):
            lines += [textwrap.indent("Answer: " + hit["answer"]["text"], "   "), ""]
        lines += [textwrap.indent(hit["text"], "   "), f"   {hit['url']}", ""]
    lines += _article_list(
        "Related articles (not a direct answer):", [(a["title"], a["url"]) for a in results["related"]]
    )
    lines += _article_list("Topics:", topics)
    return "\n".join(lines).rstrip() + "\n"


def _article_list(heading: str, articles: Sequence[tuple[str, str]]) -> list[str]:
    """A heading and each article's title with its link below, or nothing for no articles."""
    if not articles:
        return []
    return [heading, *(f"- {title}\n  {url}" for title, url in articles), ""]
