#!/usr/bin/env python3
"""PyTorch peer of `npm run bench` (bench/run.ts starts it as a child process).

The same architectures as src/trainer/models (kuangliu/pytorch-cifar variants, layer for layer),
trained on the CPU with the optimizer src/trainer/train/optimizer.ts implements: SGD with
momentum (buf = m * buf + g; w -= lr * buf) and L2 weight decay on conv and linear kernels only.

Protocol: one JSON object per line each way. On start the peer says
  {"type": "hello", "ok": true, "torch": "...", "python": "..."}   (or ok false and an error).
Then, per request {"cmd": "run", "model", "batch", "shape": [h, w, c], "classes", "threads",
"lr", "momentum", "weightDecay", "warmup", "steps" (a number or null), "minSteps", "maxSteps",
"blockSeconds"} it answers
  {"type": "result", "model", "batch", "threads", "parameters", "timesMs": [...], "maxRssKb"}
or {"type": "error", "message"}. Models (and their optimizer state) are kept between requests,
so warm-up is asked for once. {"cmd": "quit"} ends it.
"""
import json
import resource
import sys
import time


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except Exception as error:  # no torch: the bench reports the peer as skipped
    say({"type": "hello", "ok": False, "error": f"{type(error).__name__}: {error}", "python": sys.version.split()[0]})
    sys.exit(0)


class LeNet(nn.Module):
    """models/lenet.ts: conv6(5, pad 2)-pool-conv16(5)-pool-fc120-fc84-fc, biases, no BN."""

    def __init__(self, c, h, w, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        fh, fw = (h // 2 - 4) // 2, (w // 2 - 4) // 2
        self.fc1 = nn.Linear(16 * fh * fw, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(F.relu(self.fc2(x)))


class SmallCnn(nn.Module):
    """models/small-cnn.ts: conv32-bn-relu-pool-conv64-bn-relu-pool-fc, convs without bias."""

    def __init__(self, c, h, w, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc = nn.Linear((h // 4) * (w // 4) * 64, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet18(nn.Module):
    """models/resnet.ts: 3x3 stem (64, no bias)-BN-ReLU, no max pool, [2,2,2,2] basic blocks, GAP, fc."""

    def __init__(self, c, h, w, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for stage, count in enumerate([2, 2, 2, 2]):
            cout = 64 << stage
            for b in range(count):
                blocks.append(BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.linear = nn.Linear(cin, classes)

    def forward(self, x):
        y = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class Vgg16(nn.Module):
    """models/vgg.ts: 13 conv3x3(bias)-BN-ReLU in five blocks, a 2x2 max pool after each, GAP, fc."""

    BLOCKS = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]

    def __init__(self, c, h, w, classes):
        super().__init__()
        layers, cin = [], c
        for widths in self.BLOCKS:
            for cout in widths:
                layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
                cin = cout
            # ceil_mode matches tfjs 'same' pooling on odd sizes; a no-op on 32x32.
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, classes)

    def forward(self, x):
        y = self.features(x)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, expansion, stride):
        super().__init__()
        planes = expansion * cin
        self.stride = stride
        self.expand = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.depthwise = nn.Conv2d(planes, planes, 3, stride, 1, groups=planes, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.project = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride == 1 and cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.expand(x)))
        y = F.relu(self.bn2(self.depthwise(y)))
        y = self.bn3(self.project(y))
        if self.stride != 1:
            return y
        return y + (self.shortcut(x) if self.shortcut is not None else x)


class MobileNetV2(nn.Module):
    """models/mobilenetv2.ts: kuangliu's CIFAR variant (stride-1 stem and 24-channel stage, ReLU)."""

    CFG = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, c, h, w, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        blocks, cin = [], 32
        for expansion, cout, count, stride in self.CFG:
            for i in range(count):
                blocks.append(InvertedResidual(cin, cout, expansion, stride if i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.conv2 = nn.Conv2d(cin, 1280, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(1280)
        self.linear = nn.Linear(1280, classes)

    def forward(self, x):
        y = self.blocks(F.relu(self.bn1(self.conv1(x))))
        y = F.relu(self.bn2(self.conv2(y)))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


MODELS = {"lenet": LeNet, "small-cnn": SmallCnn, "resnet18": ResNet18, "vgg16": Vgg16, "mobilenetv2": MobileNetV2}
BATCH_RING = 4


class Trainee:
    def __init__(self, req):
        h, w, c = req["shape"]
        torch.manual_seed(7)
        self.model = MODELS[req["model"]](c, h, w, req["classes"])
        self.model.train()
        # Our optimizer decays names ending in '.kernel': conv and linear weights, never biases,
        # BatchNorm's gamma/beta (1-D here) or WAS alphas.
        decay = [p for p in self.model.parameters() if p.dim() > 1]
        rest = [p for p in self.model.parameters() if p.dim() <= 1]
        self.optimizer = torch.optim.SGD(
            [{"params": decay, "weight_decay": req["weightDecay"]}, {"params": rest, "weight_decay": 0.0}],
            lr=req["lr"],
            momentum=req["momentum"],
        )
        self.parameters = sum(p.numel() for p in self.model.parameters())
        b = req["batch"]
        self.batches = [(torch.randn(b, c, h, w), torch.randint(0, req["classes"], (b,))) for _ in range(BATCH_RING)]
        self.next = 0

    def step(self):
        x, y = self.batches[self.next % BATCH_RING]
        self.next += 1
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        self.optimizer.step()
        # Ours reads the loss and the number of correct predictions back every step.
        loss.item()
        (logits.argmax(1) == y).sum().item()
        return (time.perf_counter() - start) * 1000.0


def run(req, trainees):
    if req["model"] not in MODELS:
        raise ValueError(f"unknown model {req['model']!r}")
    torch.set_num_threads(int(req["threads"]))
    key = (req["model"], req["batch"])
    if key not in trainees:
        trainees[key] = Trainee(req)
    t = trainees[key]
    for _ in range(int(req.get("warmup", 0))):
        t.step()
    times, began = [], time.perf_counter()
    fixed = req.get("steps")
    while True:
        times.append(t.step())
        n, elapsed = len(times), time.perf_counter() - began
        if fixed is not None:
            if n >= fixed:
                break
        elif n >= req["maxSteps"] or (n >= req["minSteps"] and elapsed >= req["blockSeconds"]):
            break
    return {
        "type": "result",
        "model": req["model"],
        "batch": req["batch"],
        "threads": torch.get_num_threads(),
        "parameters": t.parameters,
        "timesMs": times,
        "maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main():
    say({"type": "hello", "ok": True, "torch": torch.__version__, "python": sys.version.split()[0]})
    trainees = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req.get("cmd") == "quit":
                break
            if req.get("cmd") != "run":
                raise ValueError(f"unknown command {req.get('cmd')!r}")
            say(run(req, trainees))
        except Exception as error:
            say({"type": "error", "message": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main()
