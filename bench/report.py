"""Turn a benchmark result into the Markdown table and the PNG chart."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

NAIVE, OURS = "naive", "layercake"


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


def rows(results: dict) -> list[tuple[str, str, str, str, str]]:
    """Return (what, naive, layercake, ratio, goal) for each measured figure."""
    naive, ours = results["variants"][NAIVE], results["variants"][OURS]
    goals = {goal["name"]: goal for goal in results["goals"]}

    def row(what, key, show, goal=None):
        a, b = naive[key], ours[key]
        a, b = (a["median"], b["median"]) if isinstance(a, dict) else (a, b)
        return (what, show(a), show(b), f"{b / a:.3g}", verdict(goals[goal]) if goal else "")

    stop = row("docker stop", "stop_s", seconds, "stop")
    exits = (naive["stop_exit_codes"], ours["stop_exit_codes"])
    return [
        row("cold build", "cold_build_s", seconds),
        row("rebuild after a one-line app.py change", "rebuild_s", seconds, "rebuild"),
        row("build context sent", "context_bytes", size, "context"),
        row("image size", "image_bytes", size),
        row("overhead above the base", "overhead_bytes", size, "overhead"),
        row(f"docker run to the first 200 on {probe_path(results)}", "start_s", seconds),
        (stop[0], f"{stop[1]} (exit {exits[0][0]})", f"{stop[2]} (exit {exits[1][0]})", *stop[3:]),
        ("runs as", naive["user"], ours["user"], "", ""),
        ("command", " ".join(naive["command"]), " ".join(ours["command"]), "", ""),
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
        "## layercake vs the guide's first attempt",
        "",
        intro(results),
        "",
        "| | naive | layercake | layercake ÷ naive | goal |",
        "|---|--:|--:|--:|---|",
        *(f"| {' | '.join(row)} |" for row in rows(results)),
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


CHART = [
    ("cold build", "cold_build_s", seconds),
    ("rebuild after an app.py change", "rebuild_s", seconds),
    ("build context sent", "context_bytes", size),
    ("overhead above the base", "overhead_bytes", size),
    ("docker run to first 200", "start_s", seconds),
    ("docker stop", "stop_s", seconds),
]
COLORS = {NAIVE: (170, 170, 170), OURS: (38, 110, 190)}


def probe_path(results: dict) -> str:
    """The path the bench asks for an answer of the app: the first it loads (the contract's first probe)."""
    return results["load"][0]["path"]


def draw(results: dict, path: Path) -> None:
    """Draw one pair of bars per figure, each pair scaled to its larger bar, labelled with the values."""
    figures = []
    for what, key, show in CHART:
        pair = [results["variants"][variant][key] for variant in (NAIVE, OURS)]
        figures.append((what, [v["median"] if isinstance(v, dict) else v for v in pair], show))
    probe = probe_path(results)
    rps = {c["server"]: c["requests_per_s"] for c in results["load"] if c["path"] == probe and c["connections"] == 8}
    figures.append((f"{probe} at 8 connections", [rps["dev server"], rps["layercake"]], rate))

    width, label_w, bar_w, row_h = 1000, 300, 530, 64
    height = 90 + row_h * len(figures) + 40
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    title, text, small = (ImageFont.load_default(size) for size in (22, 16, 13))
    machine = results["machine"]
    pen.text((20, 14), "layercake vs the guide's first attempt", fill="black", font=title)
    pen.text(
        (20, 46),
        f"Shorter is better, except requests/s. {machine['cpus']} CPUs, base {machine['base_image']}, "
        f"median of {results['runs']} run(s), {results['mode']} mode; naive runs the dev server.",
        fill=(90, 90, 90),
        font=small,
    )
    top = 80
    for index, (what, pair, show) in enumerate(figures):
        y = top + index * row_h
        pen.text((20, y + 14), what, fill="black", font=text)
        largest = max(pair) or 1
        for offset, (variant, value) in enumerate(zip((NAIVE, OURS), pair)):
            bar_y = y + offset * 24
            length = max(2, round(bar_w * value / largest))
            pen.rectangle((label_w, bar_y, label_w + length, bar_y + 20), fill=COLORS[variant])
            pen.text((label_w + length + 8, bar_y + 2), f"{variant}: {show(value)}", fill="black", font=small)
    legend_y = height - 30
    for offset, variant in enumerate((NAIVE, OURS)):
        x = 20 + offset * 160
        pen.rectangle((x, legend_y, x + 16, legend_y + 16), fill=COLORS[variant])
        pen.text((x + 24, legend_y), variant, fill="black", font=small)
    image.save(path)
