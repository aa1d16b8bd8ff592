"""The plugin's logic, natively: `python -m unittest` with the SDK importable (installed, or
on PYTHONPATH). No component and no host are involved."""

import unittest

from noetl_plugin import InvalidConfig

from word_stats import count_words, read_config


class CountWords(unittest.TestCase):
    def test_counts_ranks_and_finds_the_longest(self):
        stats = count_words("The cat saw the other cat. THE END", top=2)
        self.assertEqual(stats["words"], 8)
        self.assertEqual(stats["unique"], 5)
        self.assertEqual(stats["top"], [{"word": "the", "count": 3}, {"word": "cat", "count": 2}])
        self.assertEqual(stats["longest"], "other")

    def test_case_sensitive_keeps_capitals_apart(self):
        self.assertEqual(count_words("Go go GO", top=5, case_sensitive=True)["unique"], 3)

    def test_no_words(self):
        self.assertEqual(count_words(" 42 -- ", top=3), {"words": 0, "unique": 0, "top": [], "longest": None})


class ReadConfig(unittest.TestCase):
    def test_defaults(self):
        self.assertEqual(read_config({"kind": "word-stats", "text": "a b"}), (("text", "a b"), 3, False))

    def test_every_bad_field_is_named_at_once(self):
        with self.assertRaises(InvalidConfig) as raised:
            read_config({"kind": "word-stats", "text": "a", "file": "b.txt", "top": 0, "case_sensitive": "yes"})
        self.assertEqual([e.field for e in raised.exception.errors], ["tool.text", "tool.top", "tool.case_sensitive"])
        self.assertIn("top: 5", raised.exception.errors[1].fix)


if __name__ == "__main__":
    unittest.main()
