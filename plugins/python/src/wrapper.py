# The python tool's runner (generated per step; see wrapper.rs). It runs the step's code
# the ways upstream NoETL's python tool does and reports on stdout, in one marked line:
# the value (RESULT_MARK + JSON) or Python's error (ERROR_MARK + JSON).
import json
import sys

CODE = __NOETL_CODE__
CWD = __NOETL_CWD__
RESULT_MARK = "@@__NOETL_RESULT__@@"
ERROR_MARK = "@@__NOETL_ERROR__@@"
FILENAME = "<python step>"


def _compile(code):
    """The step's code object, and whether it is a body with a top-level `return`
    (then it is compiled as the body of a function taking `args` and `input_data`)."""
    import ast

    tree = ast.parse(code, FILENAME)
    try:
        return compile(tree, FILENAME, "exec"), False
    except SyntaxError as error:
        if "'return' outside function" not in str(error.msg):
            raise
    function = ast.parse("def __noetl_step__(args, input_data):\n    pass\n").body[0]
    function.body = tree.body or function.body
    tree.body = [function]
    ast.fix_missing_locations(tree)
    return compile(tree, FILENAME, "exec"), True


def _call_main(main, args):
    """`main(...)` with its named parameters bound from args (all args to `**kwargs`)."""
    import inspect

    parameters = inspect.signature(main).parameters.values()
    kwargs = {p.name: args[p.name] for p in parameters
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name in args}
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        for name, value in args.items():
            kwargs.setdefault(name, value)
    if inspect.iscoroutinefunction(main):
        import asyncio

        return asyncio.run(main(**kwargs))
    return main(**kwargs)


def _run(args):
    import linecache
    import os

    if CWD is not None:
        os.chdir(CWD)
    # Tracebacks show the step's source lines although it is no file.
    linecache.cache[FILENAME] = (len(CODE), None, CODE.splitlines(True), FILENAME)
    code, is_body = _compile(CODE)
    scope = {"__name__": "__main__", "__builtins__": __builtins__, "args": args}
    scope.update(args)
    scope["input_data"] = dict(args)
    exec(code, scope)
    result = scope["__noetl_step__"](args, dict(args)) if is_body else scope.get("result")
    if result is None and callable(scope.get("main")):
        result = _call_main(scope["main"], args)
    return result


def _report_error(error):
    import traceback

    report = traceback.TracebackException.from_exception(error)
    # The runner's frames (and ast/compile's, for a syntax error) come first; the
    # author's traceback starts at their code.
    while report.stack and report.stack[0].filename != FILENAME:
        report.stack.pop(0)
    text = "".join(report.format())
    last = "".join(report.format_exception_only()).strip().splitlines()[-1]
    sys.stderr.write(text)
    sys.stderr.flush()
    sys.stdout.write("\n" + ERROR_MARK + json.dumps({"error": last, "traceback": text}) + "\n")
    sys.stdout.flush()


def main():
    try:
        result = _run(json.loads(sys.argv[1]))
    except SystemExit:
        raise
    except BaseException as error:
        _report_error(error)
        sys.exit(1)
    sys.stdout.flush()
    try:
        line = json.dumps(result, default=str)
    except (TypeError, ValueError) as error:
        sys.stderr.write("the step's result is not JSON: " + repr(error) + "\n")
        line = "null"
    sys.stdout.write("\n" + RESULT_MARK + line + "\n")
    sys.stdout.flush()


main()
