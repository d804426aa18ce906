"""pytest_test: a py_test that runs pytest over its sources with JUnit XML output."""

def pytest_test(name, srcs, deps = [], data = [], args = [], **kwargs):
    """Runs pytest on `srcs` (test files) inside Bazel's py_test.

    Args:
      name: target name.
      srcs: test files (test_*.py).
      deps: py_library dependencies.
      data: runtime files.
      args: extra pytest arguments.
      **kwargs: passed to py_test (size, tags, env, ...).
    """
    native.py_test(
        name = name,
        srcs = srcs + ["//tools/pytest:pytest_main.py"],
        main = "//tools/pytest:pytest_main.py",
        args = ["$(rootpath %s)" % src for src in srcs] + args,
        deps = deps,
        data = data,
        python_version = "PY3",
        srcs_version = "PY3",
        **kwargs
    )
