"""Build test/data/mnist-fashion-pool7.u8.gz from the IDX training files of MNIST and Fashion-MNIST.

The "documented simple extractor" of the meta-training test: each 28x28 grey image is average-pooled
over 4x4 blocks to 7x7 = 49 values (0..255, rounded to uint8). The first 60 training images of each
class are kept, classes 0-9 = MNIST digits, 10-19 = Fashion-MNIST classes. Layout: uint8
[20 classes][60 images][49], class-major. Run: python3 make-mnist-features.py <mnist dir> <fashion dir>
"""
import gzip, sys
import numpy as np

def idx(path, images):
    b = gzip.open(path).read()
    if images:
        n, r, c = (int.from_bytes(b[i:i + 4], 'big') for i in (4, 8, 12))
        return np.frombuffer(b, np.uint8, offset=16).reshape(n, r, c)
    return np.frombuffer(b, np.uint8, offset=8)

out = []
for d in sys.argv[1:3]:
    x = idx(f'{d}/train-images-idx3-ubyte.gz', True).astype(np.float64)
    y = idx(f'{d}/train-labels-idx1-ubyte.gz', False)
    pooled = x.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(-1, 49)
    for c in range(10):
        out.append(np.rint(pooled[y == c][:60]).astype(np.uint8))
open('mnist-fashion-pool7.u8.gz', 'wb').write(gzip.compress(np.stack(out).tobytes(), compresslevel=9, mtime=0))
