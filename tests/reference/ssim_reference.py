#!/usr/bin/python3
"""Reference SSIM values for tests/detect/detector_test.cpp, from scikit-image.

Run with Debian's python3-skimage (0.19.3): /usr/bin/python3 tests/reference/ssim_reference.py
The images are defined by the same formulas in the C++ test.
"""
import numpy as np
from skimage.metrics import structural_similarity

def grey(h, w, f):
    return np.array([[f(y, x) for x in range(w)] for y in range(h)], dtype=np.float64)

def colour(h, w, f):  # (H, W, C) for scikit-image
    return np.array([[[f(c, y, x) for c in range(3)] for x in range(w)] for y in range(h)], dtype=np.float64)

kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)
a = grey(16, 20, lambda y, x: ((y * 7 + x * 13) % 17) / 16.0)
b = grey(16, 20, lambda y, x: ((y * 5 + x * 3 + 2) % 11) / 10.0)
print("grey a,b  %.10f" % structural_similarity(a, b, **kw))
print("grey a,a*0.8+0.1 %.10f" % structural_similarity(a, a * 0.8 + 0.1, **kw))
c = colour(14, 12, lambda ch, y, x: ((ch * 31 + y * 7 + x * 3) % 23) / 22.0)
d = colour(14, 12, lambda ch, y, x: ((ch * 11 + y * y + x) % 19) / 18.0)
print("colour c,d %.10f" % structural_similarity(c, d, channel_axis=2, **kw))
