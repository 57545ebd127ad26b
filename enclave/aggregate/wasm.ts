/**
 * A hand-assembled WebAssembly SIMD kernel for pairwise squared distances (no
 * wat2wasm needed): `buildDistanceModule` emits the bytes of a module with one
 * exported function, `rows`, and nothing else. See distances.ts for the
 * canonical summation order this kernel implements.
 *
 * Module (WAT equivalent, G = group size, S = row stride in bytes, both baked in
 * as constants so every load uses a static memarg offset):
 *
 *   (import "env" "memory" (memory 1 [shared]))
 *   (func (export "rows") (param $a i32) (param $b i32) (param $groups i32)
 *                         (param $acc i32) (param $len i32)
 *     ;; for each of $groups groups of G consecutive rows b, b+S, …, b+(G−1)S:
 *     ;;   acc_t ← v128.load($acc + 16t)                 (two float64 partial sums)
 *     ;;   for k = 0; k < $len; k += 16:                 ($len: bytes, multiple of 16)
 *     ;;     x ← v128.load($a + k)                       (a[c], a[c+1] as f64x2)
 *     ;;     acc_t ← f64x2.add(acc_t, f64x2.mul(t, t)) with t = f64x2.sub(x, v128.load offset=tS ($b + k))
 *     ;;   v128.store($acc + 16t, acc_t); $b += G·S; $acc += 16G
 *   )
 *
 * Lane 0 accumulates the even coordinates of the block, lane 1 the odd ones,
 * each in ascending order: exactly the float64 operations of the scalar
 * reference in distances.ts (sub, mul and add are IEEE-754 round-to-nearest in
 * both; no fused multiply-add), so the results are bit-identical.
 */

/** Options of the emitted module. */
export interface DistanceModuleOptions {
  /** pairs handled together per group (independent accumulators; a is loaded once for all) */
  readonly group: number
  /** distance in bytes between consecutive rows of the block buffer (multiple of 16) */
  readonly strideBytes: number
  /** import a shared memory (for worker threads) instead of a private one */
  readonly shared: boolean
}

/**
 * The few members of the WebAssembly JS API used here, typed locally: the
 * project's tsconfig lib has no DOM, which is where TypeScript declares them.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer
  grow(pages: number): number
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
}
/** The runtime's WebAssembly object. */
export function webAssembly(): WasmApi {
  return (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
}

/** The exported function of the module, as seen from JavaScript. */
export type RowsKernel = (a: number, b: number, groups: number, acc: number, lenBytes: number) => void

// --- encoding helpers -------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n >>>= 7
    if (n !== 0) byte |= 0x80
    out.push(byte)
  } while (n !== 0)
  return out
}

function sleb(n: number): number[] {
  const out: number[] = []
  for (;;) {
    const byte = n & 0x7f
    n >>= 7
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return out
    }
    out.push(byte | 0x80)
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]

// --- opcodes ----------------------------------------------------------------

const I32 = 0x7f
const V128 = 0x7b
const BLOCK = 0x02
const LOOP = 0x03
const VOID = 0x40
const END = 0x0b
const BR = 0x0c
const BR_IF = 0x0d
const get = (i: number) => [0x20, ...uleb(i)]
const set = (i: number) => [0x21, ...uleb(i)]
const tee = (i: number) => [0x22, ...uleb(i)]
const i32const = (v: number) => [0x41, ...sleb(v)]
const I32_EQZ = 0x45
const I32_GE_U = 0x4f
const I32_ADD = 0x6a
const I32_SUB = 0x6b
/** SIMD instructions: prefix 0xfd, then the opcode as unsigned LEB128 */
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm]
const memarg = (offset: number) => [...uleb(4), ...uleb(offset)] // align 2^4 = 16 bytes (a hint)
const v128load = (offset: number) => simd(0x00, ...memarg(offset))
const v128store = (offset: number) => simd(0x0b, ...memarg(offset))
const F64X2_ADD = simd(0xf0)
const F64X2_SUB = simd(0xf1)
const F64X2_MUL = simd(0xf2)

// --- the module ---------------------------------------------------------------

/** Emits the module's bytes. */
export function buildDistanceModule(options: DistanceModuleOptions): Uint8Array<ArrayBuffer> {
  const { group: G, strideBytes: S, shared } = options
  if (!Number.isInteger(G) || G < 1 || G > 16) throw new RangeError(`group must be 1..16, got ${G}`)
  if (!Number.isInteger(S) || S <= 0 || S % 16 !== 0 || S * G > 2 ** 31) throw new RangeError(`bad stride ${S}`)

  // params 0..4: a, b, groups, acc, len; locals: k = 5, x = 6, t = 7, acc_t = 8 + t
  const [A, B, GROUPS, ACC, LEN, K, X, T] = [0, 1, 2, 3, 4, 5, 6, 7]
  const accLocal = (t: number) => 8 + t

  const body: number[] = []
  const emit = (...xs: (number | number[])[]) => { for (const x of xs) typeof x === 'number' ? body.push(x) : body.push(...x) }

  emit(BLOCK, VOID, LOOP, VOID) // $done: block, $group: loop
  emit(get(GROUPS), I32_EQZ, BR_IF, 1) // no group left → exit $done
  for (let t = 0; t < G; t++) emit(get(ACC), v128load(16 * t), set(accLocal(t)))
  emit(i32const(0), set(K))
  emit(BLOCK, VOID, LOOP, VOID) // $kdone: block, $k: loop
  emit(get(K), get(LEN), I32_GE_U, BR_IF, 1)
  emit(get(A), get(K), I32_ADD, v128load(0), set(X))
  for (let t = 0; t < G; t++) {
    // acc_t += (x − b_t[k])²
    emit(get(accLocal(t)), get(X), get(B), get(K), I32_ADD, v128load(t * S), F64X2_SUB, tee(T), get(T), F64X2_MUL, F64X2_ADD, set(accLocal(t)))
  }
  emit(get(K), i32const(16), I32_ADD, set(K), BR, 0, END, END) // next k; end $k, $kdone
  for (let t = 0; t < G; t++) emit(get(ACC), get(accLocal(t)), v128store(16 * t))
  emit(get(B), i32const(G * S), I32_ADD, set(B))
  emit(get(ACC), i32const(16 * G), I32_ADD, set(ACC))
  emit(get(GROUPS), i32const(1), I32_SUB, set(GROUPS))
  emit(BR, 0, END, END, END) // next group; end $group, $done; end of function

  const locals = vec([[...uleb(1), I32], [...uleb(2 + G), V128]])
  const func = [...locals, ...body]
  const memoryLimits = shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)]
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0x00]])), // type 0: (i32 ×5) → ()
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...memoryLimits]])), // import memory
    ...section(3, vec([uleb(0)])), // function 0 has type 0
    ...section(7, vec([[...name('rows'), 0x00, ...uleb(0)]])), // export "rows" = function 0
    ...section(10, vec([[...uleb(func.length), ...func]])), // code
  ])
}

/** Compiles the module and instantiates it over `memory`; returns the kernel. */
export function instantiateDistanceKernel(options: DistanceModuleOptions, memory: WasmMemory): RowsKernel {
  const wasm = webAssembly()
  const module = new wasm.Module(buildDistanceModule(options))
  const instance = new wasm.Instance(module, { env: { memory } })
  return instance.exports.rows as RowsKernel
}
