"""`word-stats`: a NoETL tool plugin in Python. A step selects it with `kind: word-stats`:

    tool:
      kind: word-stats
      text: "{{ fetch_step.body }}"     # or file: notes.txt (next to the playbook)
      top: 3

The answer's `data` is `{"words": N, "unique": N, "top": [{"word", "count"}, ...], "longest": W}`.
The counting is plain Python (`count_words`), tested natively by test_word_stats.py; the
`WordStats` class reads the config and the last line exports it as the component's handler.

A component has only the modules imported while it was built (componentize-py runs this
module then and snapshots the interpreter; there is no file system at run time), so every
import is at the top, including `heapq`, which the standard library imports lazily.
"""

import heapq  # noqa: F401 -- Counter.most_common(n) imports it only when called (see below)
import re
from collections import Counter

from noetl_plugin import Context, FieldError, InvalidConfig, Tool, capability, export, success

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
MAX_FILE_BYTES = 4 << 20


def count_words(text: str, top: int, case_sensitive: bool = False) -> dict:
    """Word count, distinct words, the `top` most frequent (ties by first appearance) and the longest."""
    words = WORD.findall(text if case_sensitive else text.lower())
    counts = Counter(words)
    return {
        "words": len(words),
        "unique": len(counts),
        "top": [{"word": word, "count": count} for word, count in counts.most_common(top)],
        "longest": max(words, key=len, default=None),
    }


def read_config(config: dict) -> tuple:
    """(source, top, case_sensitive) from the step's `tool` object; every bad field at once."""
    errors = []
    text, file = config.get("text"), config.get("file")
    if (text is None) == (file is None):
        errors.append(FieldError("tool.text", "give exactly one of `text` and `file`", "add `text: some words`, or `file: notes.txt` for a file next to the playbook"))
    elif text is not None and not isinstance(text, str):
        errors.append(FieldError("tool.text", f"must be text, not {type(text).__name__}", "quote it, or pass a string from an earlier step"))
    elif file is not None and not isinstance(file, str):
        errors.append(FieldError("tool.file", f"must be a path, not {type(file).__name__}", "give a path relative to the playbook's directory"))
    top = config.get("top", 3)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 100:
        errors.append(FieldError("tool.top", f"{top!r} is not a whole number from 1 to 100", "write for example `top: 5`"))
    case_sensitive = config.get("case_sensitive", False)
    if not isinstance(case_sensitive, bool):
        errors.append(FieldError("tool.case_sensitive", f"{case_sensitive!r} is not true or false", "write `case_sensitive: true` or leave it out"))
    if errors:
        raise InvalidConfig(*errors)
    return ("text", text) if text is not None else ("file", file), top, case_sensitive


class WordStats(Tool):
    kind = "word-stats"
    version = "0.1.0"
    description = "Counts the words of a text or a file (Python, on the noetl_plugin SDK)"
    schema = {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "file": {"type": "string", "description": "relative to the playbook's directory; needs plugins.word-stats.files"},
            "top": {"type": "integer", "minimum": 1, "maximum": 100, "default": 3},
            "case_sensitive": {"type": "boolean", "default": False},
        },
    }

    def plan(self, config: dict, context: Context) -> dict:
        (source, value), top, case_sensitive = read_config(config)
        if source == "file":
            text = capability.read_file(value, MAX_FILE_BYTES).decode("utf-8", errors="replace")
            capability.log("debug", f"step {context.step}: read {len(text)} characters from {value}")
        else:
            text = value
        return success(count_words(text, top, case_sensitive))


Handler = export(WordStats)
