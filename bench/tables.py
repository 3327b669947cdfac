"""Turn a benchmark result into the Markdown table and the PNG chart."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bench.config import SERVER_OF, TIE

NAIVE, OURS = "naive", "layercake"
VARIANTS = ("naive", "compose sample", "docker init", "layercake")


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def size(value: int) -> str:
    return f"{value / 1e6:.1f} MB" if value >= 1e6 else f"{value / 1e3:.1f} kB"


def rate(value: float) -> str:
    return f"{value:.0f} req/s"


GOAL_UNITS = {"rebuild": seconds, "context": size, "overhead": size, "stop": seconds, "throughput": rate}


def verdict(goal: dict) -> str:
    sign = "≤" if goal["kind"] == "max" else "≥"
    return f"{sign} {goal['bound']}: **{'met' if goal['met'] else 'missed'}**"


def median(value):
    return value["median"] if isinstance(value, dict) else value


def rows(results: dict) -> list[list[str]]:
    """Return [what, one cell per variant, layercake ÷ naive, goal] for each measured figure."""
    variants = [results["variants"][name] for name in VARIANTS]
    goals = {goal["name"]: goal for goal in results["goals"]}

    def row(what, key, show, goal=None):
        values = [median(variant[key]) for variant in variants]
        ratio = f"{values[-1] / values[0]:.3g}"
        return [what, *(show(value) for value in values), ratio, verdict(goals[goal]) if goal else ""]

    stop = row("docker stop", "stop_s", seconds, "stop")
    stop[1:5] = [f"{cell} (exit {variant['stop_exit_codes'][0]})" for cell, variant in zip(stop[1:5], variants)]
    cis = [sum(variant["cis"].values()) for variant in variants]
    return [
        row("cold build", "cold_build_s", seconds),
        row("rebuild after a one-line app.py change", "rebuild_s", seconds, "rebuild"),
        row("rebuild after one more dependency", "dependency_rebuild_s", seconds),
        row("build context sent", "context_bytes", size, "context"),
        row("image size", "image_bytes", size),
        row("overhead above the base", "overhead_bytes", size, "overhead"),
        row(f"docker run to the first 200 on {probe_path(results)}", "start_s", seconds),
        stop,
        [
            "CIS rules held at run time",
            *(f"{held} of {len(variant['cis'])}" for held, variant in zip(cis, variants)),
            "",
            "",
        ],
        ["runs as", *(variant["user"] for variant in variants), "", ""],
        ["command", *(" ".join(variant["command"]) for variant in variants), "", ""],
    ]


def intro(results: dict) -> str:
    machine = results["machine"]
    base = f"`{machine['base_image']}` ({size(machine['base_bytes'])}"
    base += f", {machine['base_image_description']})" if machine["base_image_description"] else ")"
    return (
        f"Measured {results['measured_at']} ({results['mode']} mode) on {machine['cpus']} CPUs and "
        f"{machine['memory_gb']} GB, Docker {machine['docker']}, base image {base}. Builds, starts and stops: "
        f"median of {results['runs']} run(s). Load: wrk at 127.0.0.1, median of {results['load_runs']} run(s) of "
        f"{results['load_seconds']} s per cell."
    )


def markdown(results: dict) -> str:
    lines = [
        "## layercake, the guide's first attempt and two peers",
        "",
        intro(results),
        "",
        f"| | {' | '.join(VARIANTS)} | layercake ÷ naive | goal |",
        "|---|--:|--:|--:|--:|--:|---|",
        *(f"| {' | '.join(row)} |" for row in rows(results)),
        "",
        *peers(results),
        "",
        *conclusions(results),
        "",
        *start_parts(results),
        "",
        "### Load",
        "",
        "| server | path | connections | requests/s | requests per CPU-second | p50 | p99 | errors | non-2xx |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
        *(
            f"| {c['server']} | `{c['path']}` | {c['connections']} | {c['requests_per_s']:.0f} "
            f"| {c['requests_per_cpu_s']:.0f} | {c['p50_ms']:.1f} ms "
            f"| {c['p99_ms']:.1f} ms | {c['errors']} | {c['non_2xx']} |"
            for c in results["load"]
        ),
        "",
        "### Goals",
        "",
        "| goal | layercake | baseline | ratio | target |",
        "|---|--:|--:|--:|---|",
    ]
    for goal in results["goals"]:
        show = GOAL_UNITS[goal["name"]]
        lines.append(
            f"| {goal['what']} | {show(goal['layercake'])} | {show(goal['other'])} ({goal['baseline']}) "
            f"| {goal['ratio']:.3g} | {verdict(goal)} |"
        )
    met = sum(goal["met"] for goal in results["goals"])
    lines += ["", f"{met} of {len(results['goals'])} goals met.", ""]
    for name, other in results["other_bases"].items():
        if other["available"]:
            lines.append(
                f"- layercake on {name} (`{other['base_image']}`): cold build {seconds(other['cold_build_s'])}, "
                f"image {size(other['image_bytes'])}, overhead {size(other['overhead_bytes'])}, "
                f"first 200 after {seconds(other['start_s'])}."
            )
        else:
            lines.append(
                f"- layercake on {name} (`{other['base_image']}`): not measured, the image is not on this machine."
            )
    return "\n".join(lines) + "\n"


def conclusions(results: dict) -> list[str]:
    """What a reader should take from the run, in a few sentences made from its figures."""
    variants = results["variants"]
    ours = variants[OURS]
    behind = results["behind"]
    probe = probe_path(results)
    cell = {(c["server"], c["connections"]): c for c in results["load"] if c["path"] == probe}
    gunicorn, dev = cell["layercake", 8], cell["dev server", 8]
    others = [name for name in VARIANTS if name != OURS]
    slowest_stop = min(median(variants[name]["stop_s"]) for name in others)
    rules = {name: sum(variants[name]["cis"].values()) for name in VARIANTS}
    met = [goal for goal in results["goals"] if goal["met"]]
    all_killed = all(137 in variants[name]["stop_exit_codes"] for name in others)
    killed = " (killed after the timeout, exit 137: their PID 1 does not act on SIGTERM)" if all_killed else ""
    lead = (
        "no peer is ahead of layercake on any figure by more than a tie (10%)"
        if not behind
        else "a peer is ahead on " + ", ".join(f"{item['figure']} ({item['peer']})" for item in behind)
    )
    return [
        (
            f"What to conclude: {lead}. layercake stops in {seconds(median(ours['stop_s']))}, the others in "
            f"{seconds(slowest_stop)} or more{killed}; it holds "
            f"{rules[OURS]} of {len(ours['cis'])} runtime rules, the others {min(rules[n] for n in others)} to "
            f"{max(rules[n] for n in others)}. Against the guide's first attempt, {len(met)} of "
            f"{len(results['goals'])} goals are met. On {probe} at 8 connections gunicorn answered "
            f"{gunicorn['requests_per_s'] / dev['requests_per_s']:.1f}× the dev server's requests per second and "
            f"{gunicorn['requests_per_cpu_s'] / dev['requests_per_cpu_s']:.1f}× its requests per CPU-second: on "
            f"{results['machine']['cpus']} CPUs, wrk itself takes about one."
        ),
    ]


def start_parts(results: dict) -> list[str]:
    """Where layercake's start goes, and what preloading the app would gain and cost, from the figures of the run."""
    part = {key: median(value) for key, value in results["start_breakdown"].items()}
    ours, dev = part["start_s"], part["dev_server_s"]
    gap = ours - dev
    tie = ", a tie" if abs(gap) <= dev * TIE else ""
    sooner = ours - part["preload_start_s"]
    saved, kept = (
        part["memory_bytes"] - part["preload_memory_bytes"],
        part["loaded_memory_bytes"] - part["preload_loaded_memory_bytes"],
    )
    return [
        "### Where layercake's start goes",
        "",
        f"Each part measured in the layercake image, fresh containers in turn, median of {results['runs']} run(s).",
        "",
        f"| | time to the first 200 | memory after 20 answers | after {results['load_seconds']} s of load |",
        "|---|--:|--:|--:|",
        f"| a bare Python server: the container and the interpreter | {seconds(part['bare_python_s'])} | | |",
        (
            f"| importing gunicorn (its master and the gthread worker), inside a running container "
            f"| {seconds(part['gunicorn_import_s'])} | | |"
        ),
        f"| importing the app, Flask with it | {seconds(part['app_import_s'])} | | |",
        f"| the app on Flask's dev server | {seconds(dev)} | | |",
        (
            f"| layercake as shipped: gunicorn's master starts, each worker imports the app | {seconds(ours)} "
            f"| {size(part['memory_bytes'])} | {size(part['loaded_memory_bytes'])} |"
        ),
        (
            f"| the same image with `preload_app = True`: the master imports the app once, then forks "
            f"| {seconds(part['preload_start_s'])} | {size(part['preload_memory_bytes'])} "
            f"| {size(part['preload_loaded_memory_bytes'])} |"
        ),
        "",
        (
            f"layercake's first answer comes {seconds(abs(gap))} {'after' if gap > 0 else 'before'} the dev server's "
            f"({abs(gap) / dev:.0%}{tie}); both import the app, and gunicorn imports itself first "
            f"({seconds(part['gunicorn_import_s'])}). Preloading would answer {seconds(abs(sooner))} "
            f"{'sooner' if sooner >= 0 else 'later'} and start with {size(abs(saved))} "
            f"{'less' if saved >= 0 else 'more'} memory, of which {size(max(kept, 0))} is left after "
            f"{results['load_seconds']} s of load (the "
            "workers copy the pages they write to); it would cost gunicorn's --reload, which `make dev` runs, and "
            "code reloads on HUP, and an app that opens a connection or starts a thread when imported would share it "
            "between workers. Chosen: no preload."
        ),
    ]


def peers(results: dict) -> list[str]:
    """Say where a peer is ahead of layercake, and which rules each image breaks."""
    lines = ["Where a peer is ahead of layercake (by more than a tie):", ""]
    for item in results["behind"]:
        if item["figure"].startswith("CIS "):
            lines.append(f"- {item['peer']} holds {item['figure']}, layercake does not")
        else:
            show = size if item["figure"].endswith("_bytes") else rate if item["figure"].endswith("_rps") else seconds
            why = f": {item['why']}" if item["why"] else ""
            lines.append(
                f"- {item['peer']}: {item['figure']} {show(item['other'])} against layercake's "
                f"{show(item['layercake'])}{why}"
            )
    if not results["behind"]:
        lines.append("- nowhere")
    lines += ["", "CIS rules each image breaks at run time:", ""]
    for name in VARIANTS:
        broken = [rule for rule, held in results["variants"][name]["cis"].items() if not held]
        lines.append(f"- {name}: {', '.join(broken) or 'none'}")
    return lines


CHART = [
    ("cold build", "cold_build_s", seconds),
    ("rebuild after an app.py change", "rebuild_s", seconds),
    ("rebuild after a new dependency", "dependency_rebuild_s", seconds),
    ("build context sent", "context_bytes", size),
    ("overhead above the base", "overhead_bytes", size),
    ("docker run to first 200", "start_s", seconds),
    ("docker stop", "stop_s", seconds),
]
COLORS = {
    "naive": (170, 170, 170),
    "compose sample": (230, 160, 60),
    "docker init": (90, 170, 110),
    OURS: (38, 110, 190),
}


def probe_path(results: dict) -> str:
    """The path the bench asks for an answer of the app: the first it loads (the contract's first probe)."""
    return results["load"][0]["path"]


def draw(results: dict, path: Path) -> None:
    """Draw one pair of bars per figure, each pair scaled to its larger bar, labelled with the values."""
    figures = []
    for what, key, show in CHART:
        figures.append((what, VARIANTS, [median(results["variants"][variant][key]) for variant in VARIANTS], show))
    probe = probe_path(results)
    rps = {c["server"]: c["requests_per_s"] for c in results["load"] if c["path"] == probe and c["connections"] == 8}
    figures.append((f"{probe} at 8 connections", VARIANTS, [rps[SERVER_OF[variant]] for variant in VARIANTS], rate))

    width, label_w, bar_w, row_h = 1000, 300, 480, 24 * len(VARIANTS) + 16
    height = 90 + row_h * len(figures) + 40
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    title, text, small = (ImageFont.load_default(size) for size in (22, 16, 13))
    machine = results["machine"]
    pen.text((20, 14), "layercake, the guide's first attempt and two peers", fill="black", font=title)
    pen.text(
        (20, 46),
        f"Shorter is better, except requests/s. {machine['cpus']} CPUs, base {machine['base_image']}, "
        f"median of {results['runs']} run(s), {results['mode']} mode; naive runs the dev server.",
        fill=(90, 90, 90),
        font=small,
    )
    top = 80
    for index, (what, names, values, show) in enumerate(figures):
        y = top + index * row_h
        pen.text((20, y + 14), what, fill="black", font=text)
        largest = max(values) or 1
        for offset, (variant, value) in enumerate(zip(names, values)):
            bar_y = y + offset * 24
            length = max(2, round(bar_w * value / largest))
            pen.rectangle((label_w, bar_y, label_w + length, bar_y + 20), fill=COLORS[variant])
            pen.text((label_w + length + 8, bar_y + 2), f"{variant}: {show(value)}", fill="black", font=small)
    legend_y = height - 30
    for offset, variant in enumerate(VARIANTS):
        x = 20 + offset * 180
        pen.rectangle((x, legend_y, x + 16, legend_y + 16), fill=COLORS[variant])
        pen.text((x + 24, legend_y), variant, fill="black", font=small)
    image.save(path)
