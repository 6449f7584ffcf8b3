# Times py_vollib_vectorized (Let's Be Rational under numba) on the inputs the Node benchmark wrote:
# IV plus every Greek for each contract, on one core (NUMBA_NUM_THREADS=1). Prints JSON.
import json
import sys
import time

import numpy as np
import py_vollib_vectorized  # noqa: F401  (patches py_vollib with vectorised versions)
from py_vollib_vectorized import get_all_greeks, vectorized_implied_volatility

path, n = sys.argv[1], int(sys.argv[2])
data = np.fromfile(path, dtype=np.float64).reshape(7, n)
spot, strike, t, rate, q, price, is_call = data
flag = np.where(is_call > 0.5, 'c', 'p')

# Warm the JIT on a slice so compilation is not timed.
vectorized_implied_volatility(price[:1000], spot[:1000], strike[:1000], t[:1000], rate[:1000], flag[:1000], q=q[:1000],
                              model='black_scholes_merton', return_as='numpy', on_error='ignore')
start = time.perf_counter()
iv = vectorized_implied_volatility(price, spot, strike, t, rate, flag, q=q, model='black_scholes_merton',
                                   return_as='numpy', on_error='ignore')
iv_seconds = time.perf_counter() - start
sigma = np.nan_to_num(iv, nan=0.2)
start = time.perf_counter()
get_all_greeks(flag, spot, strike, t, rate, sigma, q, model='black_scholes_merton', return_as='dict')
greeks_seconds = time.perf_counter() - start
print(json.dumps({'n': n, 'ivSeconds': iv_seconds, 'greeksSeconds': greeks_seconds, 'iv': iv[:5].tolist()}))
