"""The official NAS-Bench-201 TinyNetwork trained with PyTorch on the CPU: the reference that
`npm run bench:train` and `npm run bench:records` print beside their own figures.

The model code follows the official NB201 modules (lib/models/cell_operations.py,
cell_infers/cells.py, cell_infers/tiny_network.py, spec §3.7): every conv edge is its own
ReLU → Conv(bias=False) → BatchNorm2d, `none` is x·0, avg_pool_3x3 excludes the padding,
reduction blocks are ResNetBasicblock(stride 2) with an AvgPool2d(2) + Conv1×1 shortcut.
Training is §3.7's step: SGD lr 0.1, momentum 0.9, Nesterov, weight decay 5e-4, cross-entropy.

Reads one JSON job from argv[1] and prints one JSON line (never used by tests):
  (every job may also give "inChannels" (default 3) and "threads" (torch.set_num_threads; default: PyTorch's))
  {"mode": "imgs", "C": 8, "N": 1, "hw": 16, "batch": 64, "steps": 40, "arch": "...", "classes": 10, "repeats": 3}
      → {"img_s": [...per repeat...], "img_per_cpu_s": [...], "threads": n}
  {"mode": "records", "C": 8, "N": 1, "hw": 16, "batch": 64, "epochs": 5, "evalBatch": 256,
   "classes": 10, "train": 1000, "test": 400, "archs": ["|...|", ...]}
      → {"record_s": [...per arch...], "threads": n}
"""
import json
import sys
import time

import torch
import torch.nn as nn


class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, k, stride, pad):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(name, c):
    if name == 'none':
        return Zero()
    if name == 'skip_connect':
        return nn.Identity()
    if name == 'avg_pool_3x3':
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name == 'nor_conv_1x1':
        return ReLUConvBN(c, c, 1, 1, 0)
    if name == 'nor_conv_3x3':
        return ReLUConvBN(c, c, 3, 1, 1)
    raise ValueError(f'unknown NB201 op {name!r}')


def parse_cell(arch):
    """'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' → [[(op, src), ...] per node 1..3]."""
    nodes = []
    for part in arch.split('+'):
        ops = [t for t in part.split('|') if t]
        nodes.append([(t.split('~')[0], int(t.split('~')[1])) for t in ops])
    return nodes


class InferCell(nn.Module):
    def __init__(self, genotype, c):
        super().__init__()
        self.layers = nn.ModuleList()
        self.node_in = []
        for node in genotype:
            idx = []
            for op, src in node:
                idx.append((len(self.layers), src))
                self.layers.append(make_op(op, c))
            self.node_in.append(idx)

    def forward(self, x):
        nodes = [x]
        for idx in self.node_in:
            nodes.append(sum(self.layers[l](nodes[s]) for l, s in idx))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, C, N, genotype, num_classes, in_channels=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        chans = [C] * N + [2 * C] + [2 * C] * N + [4 * C] + [4 * C] * N
        reds = [False] * N + [True] + [False] * N + [True] + [False] * N
        cells, prev = [], C
        for c, r in zip(chans, reds):
            cells.append(ResNetBasicblock(prev, c) if r else InferCell(genotype, c))
            prev = c
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(prev, num_classes)

    def forward(self, x):
        f = self.stem(x)
        for cell in self.cells:
            f = cell(f)
        out = self.global_pooling(self.lastact(f)).view(x.size(0), -1)
        return out, self.classifier(out)


def make(job, arch):
    net = TinyNetwork(job['C'], job['N'], parse_cell(arch), job['classes'], job.get('inChannels', 3))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    return net, opt, nn.CrossEntropyLoss()


def step(net, opt, loss_fn, x, y):
    opt.zero_grad()
    _, logits = net(x)
    loss = loss_fn(logits, y)
    loss.backward()
    opt.step()
    return loss.item()


def imgs(job):
    """Images per second of `steps` timed SGD steps (after 2 warm-up steps), per repeat."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(job['batch'], job.get('inChannels', 3), job['hw'], job['hw'], generator=g)
    y = torch.randint(0, job['classes'], (job['batch'],), generator=g)
    out, cpu = [], []
    for _ in range(job.get('repeats', 1)):
        net, opt, loss_fn = make(job, job['arch'])
        net.train()
        for _ in range(2):
            step(net, opt, loss_fn, x, y)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(job['steps']):
            step(net, opt, loss_fn, x, y)
        out.append(job['batch'] * job['steps'] / (time.perf_counter() - t0))
        cpu.append(job['batch'] * job['steps'] / (time.process_time() - c0))
    return {'img_s': out, 'img_per_cpu_s': cpu}


def records(job):
    """Seconds per database record: build the network, train `epochs` over `train` images in shuffled
    batches (last one smaller), cosine lr per epoch, then evaluate on `test` images."""
    g = torch.Generator().manual_seed(0)
    xs = torch.randn(job['train'], job.get('inChannels', 3), job['hw'], job['hw'], generator=g)
    ys = torch.randint(0, job['classes'], (job['train'],), generator=g)
    xt = torch.randn(job['test'], job.get('inChannels', 3), job['hw'], job['hw'], generator=g)
    out = []
    for arch in job['archs']:
        t0 = time.perf_counter()
        net, opt, loss_fn = make(job, arch)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, job['epochs'], eta_min=0)
        for _ in range(job['epochs']):
            net.train()
            perm = torch.randperm(job['train'], generator=g)
            for b in range(0, job['train'], job['batch']):
                rows = perm[b:b + job['batch']]
                step(net, opt, loss_fn, xs[rows], ys[rows])
            sched.step()
        net.eval()
        with torch.no_grad():
            for b in range(0, job['test'], job['evalBatch']):
                net(xt[b:b + job['evalBatch']])[1].argmax(1)
        out.append(time.perf_counter() - t0)
    return {'record_s': out}


def main():
    job = json.loads(sys.argv[1])
    if job.get('threads'):
        torch.set_num_threads(job['threads'])
    torch.manual_seed(0)
    res = imgs(job) if job['mode'] == 'imgs' else records(job)
    res['threads'] = torch.get_num_threads()
    res['torch'] = torch.__version__
    print(json.dumps(res))


if __name__ == '__main__':
    main()
