"""Writes the synthetic .pt files of packages/torch-io/test/data/synthetic/ (run once; the tests never run Python).

Made with /usr/bin/python3 and its torch (1.13):
    /usr/bin/python3 packages/torch-io/test/data/make_synthetic.py packages/torch-io/test/data/synthetic
Every file holds the same object; expected.json lists its values as torch sees them.
"""
import collections, io, json, os, sys, zipfile
import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(7)

base = torch.randn(4, 6, generator=g)
obj = collections.OrderedDict()
obj['f32'] = torch.randn(3, 5, generator=g)
obj['f64'] = torch.randn(2, 3, generator=g, dtype=torch.float64)
obj['f16'] = torch.randn(7, generator=g).half()
obj['bf16'] = torch.randn(2, 2, generator=g).bfloat16()
obj['i64'] = torch.tensor([0, -1, 2**40, -(2**53) - 5, 7], dtype=torch.int64)
obj['i32'] = torch.tensor([[1, -2], [3, -4]], dtype=torch.int32)
obj['i16'] = torch.tensor([-300, 300], dtype=torch.int16)
obj['i8'] = torch.tensor([-5, 5, 127], dtype=torch.int8)
obj['u8'] = torch.tensor([0, 255, 17], dtype=torch.uint8)
obj['bool'] = torch.tensor([True, False, True])
obj['transposed'] = base.t()              # non-contiguous view of `base`
obj['sliced'] = base[1:3, 2:5]            # storage offset + row stride
obj['base'] = base                        # same storage as the two views
obj['expanded'] = torch.randn(3, 1, generator=g).expand(3, 4)  # stride 0
obj['scalar'] = torch.tensor(2.5)
obj['empty'] = torch.zeros(0, 3)
obj['param'] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
obj['plain'] = {'none': None, 't': True, 'f': False, 'int': -123456, 'big': 2**70, 'neg_big': -(2**65), 'float': 0.1,
                'str': 'héllo ✓', 'bytes': b'\x00\x01\xff', 'list': [1, [2, 3], (4, 'x')], 'tuple': (), 'set': {3},
                1: 'int key'}

def values(x):
    if isinstance(x, torch.Tensor):
        t = x.detach()
        vals = t.float().reshape(-1).tolist() if t.is_floating_point() else [int(v) for v in t.reshape(-1).tolist()]
        return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'values': [str(v) if isinstance(v, int) else v for v in vals],
                'requires_grad': bool(x.requires_grad)}
    return None

expected = {k: values(v) for k, v in obj.items() if isinstance(v, torch.Tensor)}
json.dump(expected, open(os.path.join(out, 'expected.json'), 'w'), indent=0)

for proto in (2, 4, 5):
    torch.save(obj, os.path.join(out, f'variety_p{proto}.pt'), pickle_protocol=proto)
torch.save(obj, os.path.join(out, 'variety_legacy.pt'), _use_new_zipfile_serialization=False)

# The same archive re-zipped with deflate, under another folder name.
with zipfile.ZipFile(os.path.join(out, 'variety_p2.pt')) as src, zipfile.ZipFile(os.path.join(out, 'variety_deflated.pt'), 'w', zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr('renamed_folder/' + info.filename.split('/', 1)[1], src.read(info.filename))

# Big-endian: every storage byte-swapped and a `byteorder` record saying so.
sizes = {'float32': 4, 'float64': 8, 'float16': 2, 'bfloat16': 2, 'int64': 8, 'int32': 4, 'int16': 2, 'int8': 1, 'uint8': 1, 'bool': 1}
with zipfile.ZipFile(os.path.join(out, 'variety_p2.pt')) as src:
    import pickletools
    pkl_name = [n for n in src.namelist() if n.endswith('data.pkl')][0]
    prefix = pkl_name[: -len('data.pkl')]
    # storage key -> element size, from the persistent ids in the pickle
    elsize = {}
    class U(__import__('pickle').Unpickler):
        def persistent_load(self, pid):
            elsize[pid[2]] = pid[1](0).element_size()
            return None
        def find_class(self, m, n):
            if m == 'torch._utils':
                return lambda *a: None
            return super().find_class(m, n)
    U(io.BytesIO(src.read(pkl_name))).load()
    with zipfile.ZipFile(os.path.join(out, 'variety_bigendian.pt'), 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            rel = info.filename[len(prefix):]
            if rel.startswith('data/'):
                es = elsize[rel[5:]]
                data = b''.join(data[i:i + es][::-1] for i in range(0, len(data), es))
            if rel == 'byteorder':
                continue
            dst.writestr(info.filename, data)
        dst.writestr(prefix + 'byteorder', b'big')

# A *bylabel.pt-shaped file: class index -> [features [N_c, d]].
feats = {c: [torch.randn(n, 8, generator=g)] for c, n in enumerate([21, 25, 20])}
torch.save(feats, os.path.join(out, 'tinybylabel.pt'))
json.dump({str(c): {'shape': list(v[0].shape), 'values': v[0].reshape(-1).tolist()} for c, v in feats.items()},
          open(os.path.join(out, 'tinybylabel.json'), 'w'))
print('wrote', sorted(os.listdir(out)))
