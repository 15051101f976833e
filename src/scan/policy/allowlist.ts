/**
 * Globals a pickle may import and still be SAFE: exact "module.name" entries, modelled on
 * PyTorch's weights_only unpickler (torch/_weights_only_unpickler.py, _get_allowed_globals),
 * plus the numpy globals torch.save writes for RNG state and the builtins CPython's pickler
 * emits for plain data at protocols 0–3. Anything else is at best WARN.
 */

const TORCH_DTYPES = [
  "float32",
  "float",
  "float64",
  "double",
  "float16",
  "half",
  "bfloat16",
  "complex32",
  "chalf",
  "complex64",
  "cfloat",
  "complex128",
  "cdouble",
  "uint8",
  "int8",
  "int16",
  "short",
  "int32",
  "int",
  "int64",
  "long",
  "bool",
  "uint16",
  "uint32",
  "uint64",
  "int1",
  "int2",
  "int3",
  "int4",
  "int5",
  "int6",
  "int7",
  "uint1",
  "uint2",
  "uint3",
  "uint4",
  "uint5",
  "uint6",
  "uint7",
  "qint8",
  "quint8",
  "qint32",
  "quint4x2",
  "quint2x4",
  "float8_e4m3fn",
  "float8_e5m2",
  "float8_e4m3fnuz",
  "float8_e5m2fnuz",
  "float8_e8m0fnu",
  "float4_e2m1fn_x2",
  "bits1x8",
  "bits2x4",
  "bits4x2",
  "bits8",
  "bits16",
];

const TORCH_STORAGE_TYPES = [
  "Double",
  "Float",
  "Half",
  "Long",
  "Int",
  "Short",
  "Char",
  "Byte",
  "Bool",
  "BFloat16",
  "ComplexDouble",
  "ComplexFloat",
  "QUInt8",
  "QInt8",
  "QInt32",
  "QUInt4x2",
  "QUInt2x4",
];

const TORCH_TENSOR_TYPES = ["Double", "Float", "Half", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16"];

const TORCH_QSCHEMES = [
  "per_tensor_affine",
  "per_tensor_symmetric",
  "per_channel_affine",
  "per_channel_symmetric",
  "per_channel_affine_float_qparams",
];

const TORCH_REBUILD_FUNCTIONS = [
  "_rebuild_tensor",
  "_rebuild_tensor_v2",
  "_rebuild_tensor_v3",
  "_rebuild_parameter",
  "_rebuild_parameter_with_state",
  "_rebuild_qtensor",
  "_rebuild_sparse_tensor",
  "_rebuild_meta_tensor_no_storage",
  "_rebuild_nested_tensor",
  "_rebuild_wrapper_subclass",
  "_rebuild_device_tensor_from_cpu_tensor",
  "_rebuild_device_tensor_from_numpy",
];

export const SAFE_GLOBALS: ReadonlySet<string> = new Set([
  "collections.OrderedDict",
  "collections.Counter",
  "torch.nn.parameter.Parameter",
  "torch.serialization._get_layout",
  "torch.Size",
  "torch.Tensor",
  "torch.device",
  "torch._tensor._rebuild_from_type_v2",
  "torch.storage.UntypedStorage",
  "torch.storage.TypedStorage",
  "torch.UntypedStorage",
  "torch.TypedStorage",
  ...TORCH_DTYPES.map((t) => `torch.${t}`),
  ...TORCH_STORAGE_TYPES.flatMap((t) => [`torch.${t}Storage`, `torch.cuda.${t}Storage`]),
  ...TORCH_TENSOR_TYPES.flatMap((t) => [`torch.${t}Tensor`, `torch.cuda.${t}Tensor`]),
  ...TORCH_QSCHEMES.map((q) => `torch.${q}`),
  ...TORCH_REBUILD_FUNCTIONS.map((f) => `torch._utils.${f}`),
  // bytes at protocols 0–2, and the plain containers and numbers pickle writes as globals
  "_codecs.encode",
  "builtins.bytearray",
  "builtins.bytes",
  "builtins.set",
  "builtins.frozenset",
  "builtins.complex",
  "builtins.slice",
  "builtins.range",
  "builtins.object",
  // type objects used as data, e.g. the factory of a defaultdict
  "builtins.list",
  "builtins.dict",
  "builtins.tuple",
  "builtins.int",
  "builtins.float",
  "builtins.str",
  "builtins.bool",
  // numpy arrays, dtypes and scalars (torch.save of np.random.get_state(), np.save object arrays)
  "numpy.core.multiarray._reconstruct",
  "numpy._core.multiarray._reconstruct",
  "numpy.core.multiarray.scalar",
  "numpy._core.multiarray.scalar",
  "numpy.ndarray",
  "numpy.dtype",
  // arrays pickled at protocol 5 (ndarray.__reduce_ex__(5))
  "numpy.core.numeric._frombuffer",
  "numpy._core.numeric._frombuffer",
]);

/**
 * Globals seen in ordinary checkpoints that are not in the strict allowlist: WARN, and exempt
 * from the private/dunder escalation their names would otherwise trigger.
 */
export const KNOWN_GLOBALS: ReadonlySet<string> = new Set([
  "copyreg._reconstructor",
  "copyreg.__newobj__",
  "copyreg.__newobj_ex__",
  "numpy.random._pickle.__randomstate_ctor",
  "numpy.random._pickle.__generator_ctor",
  "numpy.random._pickle.__bit_generator_ctor",
  "torch.nn.modules.module._WrappedHook",
  "torch._utils._rebuild_xla_tensor",
  "torch._utils._rebuild_mps_tensor",
  // uuid is denylisted as a module (uuid._get_command_stdout runs a program); UUID values are data
  "uuid.UUID",
  "uuid.SafeUUID",
]);

/**
 * Globals in a TorchScript archive's pickles. torch.jit.load unpickles them in C++, which only
 * resolves these: classes compiled from the archive's code/ (`__torch__.…`, flagged as
 * TORCHSCRIPT_CODE) and torch.jit._pickle's list builders. No Python import happens.
 */
const TORCHSCRIPT_BUILDERS: ReadonlySet<string> = new Set([
  "build_intlist",
  "build_tensorlist",
  "build_doublelist",
  "build_boollist",
  "build_tensor_from_id",
  "restore_type_tag",
]);

export function isTorchScriptGlobal(module: string, name: string): boolean {
  if (module === "__torch__" || module.startsWith("__torch__.")) return !name.includes(".") && !/^__.*__$/.test(name);
  return module === "torch.jit._pickle" && TORCHSCRIPT_BUILDERS.has(name);
}
