#!/usr/bin/env python3
"""Python Jinja2 baseline for template_render.rs (issue 6): what legacy NoETL uses.

Renders the same trees as the Rust bench (each spec example's `tool` object deep-merged
with template_fixture.json's `overlay`, `tool.script.content` skipped) with the same
context, and prints the median time of one whole-tree render per example.

Two variants:
- `jinja2` (the comparison): like the Rust renderers, every render builds its templates
  from source: one Environment per render (the sandboxed and native renderers build one
  per call) and `Environment.from_string` per template string;
- `jinja2 precompiled` (Jinja2's best case, for reference): one Environment, each template
  compiled once and cached, so only rendering is timed.

Run: python3 tests/benches/template_render_jinja2.py   (needs `pip install jinja2 pyyaml`)
"""

import json
import pathlib
import statistics
import timeit

import jinja2
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = [
    "01-basic-python",
    "02-dependencies",
    "03-env-secrets",
    "04-http-source",
    "05-node",
    "06-resource-limits",
]
SKIP_PATHS = {"tool.script.content"}
REPEAT = 21  # timeit rounds; the median of them is reported


def deep_merge(base, overlay):
    """`overlay` merged into `base`: dicts key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        for key, value in overlay.items():
            base[key] = deep_merge(base.get(key), value)
        return base
    return overlay


def is_template(text):
    return "{{" in text or "{%" in text or "{#" in text


def new_environment():
    return jinja2.Environment(undefined=jinja2.ChainableUndefined, keep_trailing_newline=True, autoescape=False)


def render_tree(compile_template, value, context, path):
    if path in SKIP_PATHS:
        return value
    if isinstance(value, dict):
        return {k: render_tree(compile_template, v, context, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render_tree(compile_template, v, context, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and is_template(value):
        return compile_template(value).render(context)
    return value


def render(tool, context):
    return render_tree(new_environment().from_string, {"tool": tool}, context, "")["tool"]


def precompiled_renderer():
    env = new_environment()
    compiled = {}

    def compile_template(source):
        if source not in compiled:
            compiled[source] = env.from_string(source)
        return compiled[source]

    return lambda tool, context: render_tree(compile_template, {"tool": tool}, context, "")["tool"]


def median_per_call(call):
    timer = timeit.Timer(call)
    number, _ = timer.autorange()
    return statistics.median(t / number for t in timer.repeat(repeat=REPEAT, number=number))


def main():
    fixture = json.loads((ROOT / "tests/benches/template_fixture.json").read_text())
    context = dict(fixture["context"], secrets=fixture["secrets"])
    print(f"jinja2 {jinja2.__version__}, per-render median of {REPEAT} rounds")
    for example in EXAMPLES:
        doc = yaml.safe_load((ROOT / f"examples/playbooks/{example}.yaml").read_text())
        tool = deep_merge(doc["workflow"][0]["tool"], fixture["overlay"])
        precompiled = precompiled_renderer()
        rendered = render(tool, context)
        assert rendered["job"]["labels"]["team"] == "analytics", example
        assert precompiled(tool, context) == rendered, example
        fresh = median_per_call(lambda: render(tool, context))
        cached = median_per_call(lambda: precompiled(tool, context))
        print(f"render {example}/jinja2: {fresh * 1e6:.1f} µs; jinja2 precompiled: {cached * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
