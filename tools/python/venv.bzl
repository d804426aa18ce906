"""A repository exposing the project's virtualenv (.venv, made by ./bazelw) as Bazel's Python.

Why a repository rule: py_runtime needs an absolute interpreter path, and the checkout can
live anywhere (CI clones into a temporary folder), so the path is found at load time.
"""

def _venv_repository_impl(ctx):
    workspace_root = ctx.path(Label("//:WORKSPACE")).dirname
    python = workspace_root.get_child(".venv").get_child("bin").get_child("python3")
    if not python.exists:
        # Keep the repository loadable (so `bazel query` works); running a Python target
        # then fails with this message instead of a missing-file error.
        print("ValveNet: %s does not exist; run ./bazelw once to create the virtualenv" % python)
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD", """\
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

py_runtime(
    name = "venv_python3",
    interpreter_path = "{python}",
    python_version = "PY3",
    visibility = ["//visibility:public"],
)

py_runtime_pair(
    name = "venv_runtime_pair",
    py3_runtime = ":venv_python3",
)

toolchain(
    name = "python_toolchain",
    toolchain = ":venv_runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
""".format(python = python))

venv_repository = repository_rule(
    implementation = _venv_repository_impl,
    local = True,
    doc = "Points Bazel's Python toolchain at <workspace>/.venv/bin/python3.",
)
