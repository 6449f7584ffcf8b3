# Times a reference implementation on the inputs the Node benchmark wrote: IV plus every Greek per
# contract, on one core. First choice py_vollib_vectorized (numba, one thread); when it cannot run
# (its numba code does not compile against current py_lets_be_rational/numba), py_vollib's
# black_scholes_merton over py_lets_be_rational, timed on a sample. Prints JSON.
import json
import sys
import time

import numpy as np

path, n = sys.argv[1], int(sys.argv[2])
data = np.fromfile(path, dtype=np.float64).reshape(7, n)
spot, strike, t, rate, q, price, is_call = data


def vectorized():
    from py_vollib_vectorized import get_all_greeks, vectorized_implied_volatility
    flag = np.where(is_call > 0.5, 'c', 'p')
    args = dict(q=q[:1000], model='black_scholes_merton', return_as='numpy', on_error='ignore')
    vectorized_implied_volatility(price[:1000], spot[:1000], strike[:1000], t[:1000], rate[:1000], flag[:1000], **args)
    start = time.perf_counter()
    iv = vectorized_implied_volatility(price, spot, strike, t, rate, flag, q=q, model='black_scholes_merton',
                                       return_as='numpy', on_error='ignore')
    mid = time.perf_counter()
    get_all_greeks(flag, spot, strike, t, rate, np.nan_to_num(iv, nan=0.2), q, model='black_scholes_merton', return_as='dict')
    end = time.perf_counter()
    return {'library': 'py_vollib_vectorized (numba, 1 thread)', 'n': n, 'seconds': end - start, 'ivSeconds': mid - start}


def scalar(sample):
    from py_vollib.black_scholes_merton.implied_volatility import implied_volatility
    from py_vollib.black_scholes_merton.greeks.analytical import delta, gamma, rho, theta, vega
    m = min(n, sample)
    start = time.perf_counter()
    for i in range(m):
        flag = 'c' if is_call[i] > 0.5 else 'p'
        args = (spot[i], strike[i], t[i], rate[i])
        try:
            sigma = implied_volatility(price[i], *args, q[i], flag)
        except Exception:
            sigma = 0.2
        for f in (delta, gamma, theta, vega, rho):
            f(flag, *args, sigma, q[i])
    return {'library': 'py_vollib (py_lets_be_rational, scalar)', 'n': m, 'seconds': time.perf_counter() - start}


try:
    result = vectorized()
except Exception as err:  # noqa: BLE001 - report and fall back
    result = scalar(20000)
    result['vectorizedError'] = str(err).splitlines()[0]
print(json.dumps(result))
