"""The capability wrappers, natively: each one calls its generated import with the
contract's arguments and turns a `capability-error` into `CapabilityError`.

The generated imports raise NotImplementedError outside a component, so each test puts a
recording function in their place; the real host answers them in the end-to-end test
(tests/tests/python_plugins.rs).
"""

import json
import unittest
from unittest import mock

from componentize_py_types import Err

from noetl_plugin import CapabilityError, capability
from noetl_plugin.bindings.imports import fetch, files, http, kubernetes, log, types


class Errors(unittest.TestCase):
    def test_every_capability_error_variant_keeps_its_kind_and_message(self):
        variants = {
            "denied": types.CapabilityError_Denied,
            "not-configured": types.CapabilityError_NotConfigured,
            "not-found": types.CapabilityError_NotFound,
            "too-large": types.CapabilityError_TooLarge,
            "failed": types.CapabilityError_Failed,
        }
        for kind, variant in variants.items():
            with mock.patch.object(files, "read", side_effect=Err(variant(f"{kind} message"))):
                with self.assertRaises(CapabilityError) as raised:
                    capability.read_file("a.txt", 10)
            self.assertEqual((raised.exception.kind, raised.exception.message), (kind, f"{kind} message"))

    def test_an_unknown_kind_is_refused(self):
        with self.assertRaisesRegex(ValueError, "use one of denied"):
            CapabilityError("forbidden", "x")


class Calls(unittest.TestCase):
    def test_read_file_and_fetch_pass_their_arguments(self):
        with mock.patch.object(files, "read", return_value=b"text") as read:
            self.assertEqual(capability.read_file("notes/a.txt", 99), b"text")
        read.assert_called_once_with("notes/a.txt", 99)
        with mock.patch.object(fetch, "get", return_value=fetch.Fetched(b"doc", "ab12")) as get:
            self.assertEqual(capability.fetch("https://x.example/a", 5), capability.Fetched(b"doc", "ab12"))
        get.assert_called_once_with("https://x.example/a", 5)

    def test_http_sends_json_with_its_content_type_and_wraps_the_response(self):
        answer = http.Response(201, [("Content-Type", "application/json")], b'{"id": 7}', "https://api.example/v1")
        with mock.patch.object(http, "send", return_value=answer) as send:
            response = capability.http("post", "https://api.example/v1", headers=[("x-a", "1")], json={"n": 1}, timeout_ms=500)
        request = send.call_args.args[0]
        self.assertEqual((request.method, request.url, request.timeout_ms, request.follow_redirects), ("POST", "https://api.example/v1", 500, True))
        self.assertEqual(request.headers, [("x-a", "1"), ("content-type", "application/json")])
        self.assertEqual(json.loads(request.body), {"n": 1})
        self.assertEqual(request.max_response_bytes, (1 << 64) - 1)
        self.assertEqual((response.status, response.header("content-type"), response.json()), (201, "application/json", {"id": 7}))
        with self.assertRaisesRegex(ValueError, "not both"):
            capability.http("POST", "https://api.example/v1", body=b"x", json={})

    def test_kubernetes_objects_cross_as_dicts(self):
        with mock.patch.object(kubernetes, "create", return_value='{"kind": "ConfigMap", "metadata": {"uid": "u"}}') as create:
            created = capability.kubernetes_create("ns", {"kind": "ConfigMap", "metadata": {"name": "c"}})
        self.assertEqual(created["metadata"]["uid"], "u")
        self.assertEqual(json.loads(create.call_args.args[1]), {"kind": "ConfigMap", "metadata": {"name": "c"}})
        with mock.patch.object(kubernetes, "list", return_value=['{"n": 1}', '{"n": 2}']) as listed:
            self.assertEqual(capability.kubernetes_list("Pod", "ns", "app=x"), [{"n": 1}, {"n": 2}])
        listed.assert_called_once_with("Pod", "ns", "app=x")

    def test_log_levels(self):
        with mock.patch.object(log, "log") as logged:
            capability.log("warn", "careful")
        logged.assert_called_once_with(log.Level.WARN, "careful")
        with self.assertRaisesRegex(ValueError, "use one of trace, debug, info, warn, error"):
            capability.log("verbose", "x")


if __name__ == "__main__":
    unittest.main()
