"""The glue between a Tool and the generated bindings, natively.

Needs the bindings that `componentize-py bindings` generates for `noetl_plugin.bindings`
(tests/tests/python_plugins.rs generates them into a copy of the package, then runs this).
The host side is the end-to-end test's job; here every conversion is checked on its own.
"""

import json
import pathlib
import unittest

from componentize_py_types import Err

import noetl_plugin

from noetl_plugin import CapabilityError, FieldError, InvalidConfig, Job, Manifest, Tool, ToolFailed, error, export, success
from noetl_plugin.bindings.imports import types


class Echo(Tool):
    kind = "echo"
    version = "1.2.3"
    description = "echoes"
    schema = {"type": "object"}

    def plan(self, config, context):
        action = config.get("action")
        if action == "invalid":
            raise InvalidConfig(FieldError("tool.a", "bad a", "fix a"), FieldError("tool.b", "bad b", "fix b"))
        if action == "failed":
            raise ToolFailed("could not")
        if action == "denied":
            raise CapabilityError("not-configured", "no cluster")
        if action == "bug":
            return config["missing"]
        if action == "import":
            import no_such_module_at_call_time  # noqa: F401
        if action == "memory":
            raise MemoryError()
        if action == "list":
            return [1, 2]
        if action == "set":
            return success({1, 2})
        if action == "job":
            return Job("ns", "job-1", [Manifest("ConfigMap", "cm", {"data": {"k": "v"}}), Manifest("Job", "job-1", {"spec": {}})], 30)
        if action == "error":
            return error("it said no", data={"n": 1})
        return success({"config": config, "step": context.step, "execution_id": context.execution_id}, extra=True)


class JobTool(Echo):
    kind = "job-tool"

    def finish(self, config, context, outcome):
        return success({"status": outcome.status, "exit_code": outcome.exit_code, "output": outcome.output})


def plan(tool, config, context="{}"):
    return export(tool)().plan(json.dumps(config), context)


def plan_error(tool, config):
    try:
        plan(tool, config)
    except Err as e:
        return e.value
    raise AssertionError("plan did not fail")


def outcome(status):
    return types.JobOutcome(status, "job-1", "ns", "pod-1", 1.5, 0, 1, 3, "BackoffLimitExceeded", "failed", "out", None, False)


class Describe(unittest.TestCase):
    def test_describe_carries_the_class_attributes_and_the_schema_as_json(self):
        info = export(Echo)().describe()
        self.assertEqual((info.kind, info.version, info.description), ("echo", "1.2.3", "echoes"))
        self.assertEqual(json.loads(info.config_schema), {"type": "object"})


class Plan(unittest.TestCase):
    def test_a_response_is_json_text_with_the_context(self):
        result = plan(Echo, {"kind": "echo", "x": "é"}, '{"step": "s1"}')
        self.assertIsInstance(result, types.PlanResult_Done)
        self.assertEqual(
            json.loads(result.value),
            {"status": "success", "data": {"config": {"kind": "echo", "x": "é"}, "step": "s1", "execution_id": "local"}, "extra": True},
        )

    def test_an_error_response_is_still_a_response(self):
        result = plan(Echo, {"action": "error"})
        self.assertEqual(json.loads(result.value), {"status": "error", "error": "it said no", "data": {"n": 1}})

    def test_every_field_error_reaches_the_host(self):
        e = plan_error(Echo, {"action": "invalid"})
        self.assertIsInstance(e, types.ToolError_InvalidConfig)
        self.assertEqual([(f.field, f.message, f.fix) for f in e.value], [("tool.a", "bad a", "fix a"), ("tool.b", "bad b", "fix b")])

    def test_tool_failed_is_the_failed_variant(self):
        self.assertEqual(plan_error(Echo, {"action": "failed"}), types.ToolError_Failed("could not"))

    def test_a_capability_error_passes_through_as_it_was(self):
        self.assertEqual(plan_error(Echo, {"action": "denied"}), types.ToolError_Capability(types.CapabilityError_NotConfigured("no cluster")))

    def test_a_bug_names_the_exception_and_the_author_s_line_then_the_traceback(self):
        e = plan_error(Echo, {"action": "bug"})
        self.assertIsInstance(e, types.ToolError_Failed)
        first, traceback = e.value.split("\n", 1)
        self.assertRegex(first, r"^KeyError: 'missing' \(at test_export\.py:\d+, in plan\)$")
        self.assertTrue(traceback.startswith("Traceback (most recent call last):"), traceback)
        self.assertIn('return config["missing"]', traceback)

    def test_a_module_missing_at_call_time_says_to_import_it_at_the_top(self):
        e = plan_error(Echo, {"action": "import"})
        self.assertIn("No module named 'no_such_module_at_call_time' (at test_export.py:", e.value)
        self.assertIn("add `import no_such_module_at_call_time` at the top of your module", e.value)

    def test_running_out_of_memory_names_the_policy_key(self):
        e = plan_error(Echo, {"action": "memory"})
        self.assertIn("MemoryError", e.value)
        self.assertIn("raise plugins.echo.limits.memory_mib in the policy file", e.value)

    def test_a_response_that_is_not_a_dict_says_what_to_return(self):
        self.assertIn("returned list, not a response: return success(data)", plan_error(Echo, {"action": "list"}).value)

    def test_a_response_that_is_not_json_says_so(self):
        self.assertIn("the response is not JSON", plan_error(Echo, {"action": "set"}).value)

    def test_a_job_becomes_a_bundle_with_json_bodies(self):
        result = plan(Echo, {"action": "job"})
        self.assertIsInstance(result, types.PlanResult_RunJob)
        bundle = result.value
        self.assertEqual((bundle.namespace, bundle.job_name, bundle.timeout_seconds), ("ns", "job-1", 30))
        self.assertEqual([(m.kind, m.name) for m in bundle.manifests], [("ConfigMap", "cm"), ("Job", "job-1")])
        self.assertEqual(json.loads(bundle.manifests[0].body), {"data": {"k": "v"}})


class Finish(unittest.TestCase):
    def test_finish_sees_the_outcome_with_its_status_as_text(self):
        text = export(JobTool)().finish('{"kind": "job-tool"}', "{}", outcome(types.JobStatus.START_FAILED))
        self.assertEqual(json.loads(text)["data"], {"status": "start-failed", "exit_code": 3, "output": "out"})

    def test_a_tool_without_finish_says_why_it_was_not_expected(self):
        with self.assertRaises(Err) as raised:
            export(Echo)().finish("{}", "{}", outcome(types.JobStatus.COMPLETED))
        self.assertIn("never returns a job", raised.exception.value.value)


class Export(unittest.TestCase):
    def test_a_kind_the_host_would_refuse_fails_at_export(self):
        class Bad(Echo):
            kind = "Bad Kind"

        with self.assertRaisesRegex(ValueError, r"Bad.kind = 'Bad Kind': use 1-63 lowercase"):
            export(Bad)

    def test_a_tool_without_plan_or_version_fails_at_export(self):
        class NoPlan(Tool):
            kind = "x"
            version = "1"

        class NoVersion(Echo):
            version = ""

        with self.assertRaisesRegex(TypeError, "NoPlan does not implement plan"):
            export(NoPlan)
        with self.assertRaisesRegex(ValueError, "NoVersion.version is empty"):
            export(NoVersion)
        with self.assertRaisesRegex(TypeError, "pass a subclass of noetl_plugin.Tool"):
            export(object)


class Versions(unittest.TestCase):
    def test_the_contract_version_is_the_wit_s_and_the_package_s(self):
        package = pathlib.Path(noetl_plugin.__file__).parent
        wit = (package / "wit" / "plugin.wit").read_text()
        self.assertIn(f"package noetl:plugin@{noetl_plugin.CONTRACT_VERSION};", wit)
        pyproject = (package.parent / "pyproject.toml").read_text()
        self.assertIn(f'version = "{noetl_plugin.CONTRACT_VERSION}"', pyproject)


if __name__ == "__main__":
    unittest.main()
