import ctypes, timeit, os, json, glob
import numpy as np, orjson, uuid
import lleaves
from lleaves.data_processing import ndarray_to_ptr
key = "2d8b5b2a0b3234313ea33a3193db6980"
d = os.path.expanduser("~/.conveyor/cache/compiled/")
m = lleaves.Model(model_file=d + key + ".txt"); m.compile(cache=d + key + ".so")
row = [29.0,3.0,112776.0,11.0,9.0,0.0,3.0,4.0,4.0,0.0,0.0,0.0,45.0,38.0]
x = np.array([row])
addr = m._execution_engine.get_function_address("forest_root")
f2 = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32)(addr)
inbuf = np.zeros((1,14)); outbuf = np.zeros(1)
pin = ndarray_to_ptr(inbuf); pout = ndarray_to_ptr(outbuf)
def a(): return m.predict(x, n_jobs=1)
def c():
    out = np.empty(1); f2(x.ctypes.data, out.ctypes.data, 0, 1); return out
def d_():
    inbuf[0] = row; m._c_entry_func(pin, pout, 0, 1); return outbuf.copy()
def e(): return np.array([row])
def e2(): return np.array(row, dtype=np.float64).reshape(1, -1)
ints = np.ones(14, bool)
LIM = 2.0**63
def v():
    with np.errstate(invalid="ignore"):
        return bool(np.isfinite(x).all() and (np.abs(x) < LIM).all() and (x == np.trunc(x)).all())
def vpy():
    for v_ in row:
        t = type(v_)
        if t is int: 
            if not -LIM < v_ < LIM: return False
        elif t is float:
            if not v_.is_integer() or not -LIM < v_ < LIM: return False
        else: return False
    return True
print(a(), c(), d_())
for fn in (a, c, d_, e, e2, v, vpy, uuid.uuid4, lambda: uuid.uuid4().hex, lambda: os.urandom(16).hex()):
    n = 100000
    t = min(timeit.repeat(fn, number=n, repeat=3)) / n * 1e6
    print(getattr(fn, "__name__", fn), f"{t:.2f} us")
