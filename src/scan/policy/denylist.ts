/**
 * The union of modelscan's, picklescan's and fickling's denylists (see
 * shared/reference/model-scanning.md §1.2) plus names from published bypasses. It never makes a
 * file SAFE — the allowlist does that — it only decides which unknown imports are MALICIOUS
 * rather than WARN, and labels them.
 */

/** Top-level or dotted modules; a module matches an entry equal to it or a parent of it. */
export const DENIED_MODULES: ReadonlySet<string> = new Set([
  // interpreter, processes, code loading
  "builtins", "__builtin__", "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "sys", "pty",
  "commands", "multiprocessing", "_posixsubprocess", "_winapi", "code", "codeop", "runpy", "marshal", "types",
  "importlib", "_imp", "imp", "pkgutil", "zipimport", "gc", "site", "sysconfig", "unittest", "inspect", "test",
  "operator", "_operator", "functools", "ctypes", "_ctypes", "cffi", "signal", "threading", "_thread",
  "concurrent", "atexit", "resource", "__future__",
  // profilers and debuggers run code
  "cProfile", "profile", "_lsprof", "pdb", "bdb", "timeit", "trace", "doctest", "idlelib", "lib2to3", "_pyrepl",
  // network
  "socket", "_socket", "ssl", "http", "httplib", "urllib", "urllib2", "urllib3", "requests", "aiohttp", "asyncio",
  "webbrowser", "smtplib", "imaplib", "ftplib", "poplib", "telnetlib", "nntplib", "socketserver", "xmlrpc", "httpx",
  // nested deserialisers
  "pickle", "_pickle", "cPickle", "pickletools", "dill", "cloudpickle", "joblib", "shelve",
  "yaml", "jsonpickle",
  // files and archives
  "shutil", "tempfile", "fileinput", "glob", "linecache", "tarfile", "zipfile", "mmap", "io", "_io",
  "distutils", "setuptools", "compileall", "py_compile", "sqlite3", "dbm", "logging",
  // shells, packaging, platform probes
  "pydoc", "pexpect", "pipes", "venv", "ensurepip", "pip", "platform", "select", "selectors", "uuid",
  "_osx_support", "_aix_support", "ptyprocess", "sh", "plumbum", "fabric", "paramiko",
  // ML libraries' code-loading corners
  "torch.hub", "torch._dynamo", "torch._inductor", "torch.jit", "torch.compiler", "torch.package",
  "torch.utils.collect_env", "torch.utils.bottleneck", "torch.utils._config_module", "torch.utils.cpp_extension",
  "torch.utils.data.datapipes", "torch.fx.experimental.symbolic_shapes", "torch.distributed.rpc",
  "torch.multiprocessing", "torch.testing", "torch.serialization", "torch._export", "torch.export",
  "numpy.f2py", "numpy.distutils", "numpy.testing", "numpy.lib.utils",
  "keras.utils.get_file", "tensorflow.io", "tensorflow.python.platform", "tensorflow.keras.utils.get_file",
  "mlflow.projects", "pandas.io", "sklearn.utils._testing",
  // scanners: a pickle that touches them is trying to switch them off
  "fickling", "picklescan", "modelscan", "modelaudit",
]);

/** Exact "module.name" entries outside the modules above. */
export const DENIED_QUALIFIED: ReadonlySet<string> = new Set([
  "torch.load",
  "torch.save",
  "torch.storage._load_from_bytes",
  "torch.compile",
  "torch.classes.load_library",
  "torch.ops.load_library",
  "numpy.load",
  "numpy.loads",
  "numpy.fromfile",
  "numpy.memmap",
  "numpy.save",
  "numpy.savetxt",
  "numpy.loadtxt",
  "numpy.genfromtxt",
  "pandas.read_csv",
  "pandas.read_pickle",
  "pandas.read_json",
  "pandas.read_html",
  "pandas.read_sql",
  "copyreg.add_extension",
  "copyreg.remove_extension",
  "copyreg.clear_extension_cache",
  "copyreg.pickle",
  "copyreg.constructor",
  "keras.config.enable_unsafe_deserialization",
  "keras.models.load_model",
  "keras.saving.load_model",
  "tensorflow.keras.models.load_model",
  "transformers.dynamic_module_utils.get_class_from_dynamic_module",
  "transformers.AutoModel.from_pretrained",
]);

/**
 * Function names that are dangerous whatever module re-exports them: a third-party module that
 * did `from os import system` exposes `thatmodule.system`, which no module denylist lists.
 */
export const DANGEROUS_NAMES: ReadonlySet<string> = new Set([
  "system", "popen", "popen2", "popen3", "popen4", "Popen", "getoutput", "getstatusoutput", "check_output",
  "check_call", "run_command", "call_command", "startfile", "spawn", "fork", "forkpty", "kill", "killpg",
  "exec", "eval", "execfile", "compile", "__import__", "import_module", "reload", "resolve_name",
  "getattr", "setattr", "delattr", "globals", "locals", "vars", "breakpoint", "input", "open", "urlopen",
  "urlretrieve", "get_file", "load", "loads", "load_model", "load_library", "load_from_bytes", "_load_from_bytes",
  "run_path", "run_module", "_run_code", "_run_module_code", "_run_module_as_main", "runcode", "runsource",
  "runctx", "runcall", "execWrapper", "pipepager", "tempfilepager", "debug_script", "methodcaller",
  "attrgetter", "itemgetter", "rmtree", "remove", "unlink", "rmdir", "removedirs", "rename", "replace",
  "chmod", "chown", "symlink", "link", "truncate", "write_text", "write_bytes", "create_subprocess_shell",
  "create_subprocess_exec", "enable_unsafe_deserialization", "FileIO", "FileHandler", "_get_command_stdout",
  "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe", "spawnl", "spawnle",
  "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "posix_spawn", "posix_spawnp",
  "_make_function", "_make_skel_func", "_fill_function", "_builtin_type", "CodeType", "FunctionType",
  "func_load", "deserialize_keras_object",
]);

/** Loaders whose bytes argument is a second pickle (or model) loaded with full privileges. */
export const NESTED_LOADER_NAMES: ReadonlySet<string> = new Set([
  "loads", "load", "_load_from_bytes", "load_from_bytes", "load_model", "read_pickle",
]);

export function moduleIsDenied(module: string): string | undefined {
  const parts = module.split(".");
  for (let i = parts.length; i >= 1; i--) {
    const prefix = parts.slice(0, i).join(".");
    if (DENIED_MODULES.has(prefix)) return prefix;
  }
  return undefined;
}
