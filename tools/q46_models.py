# q46 reference networks as PyTorch modules: the CIFAR-10 CNN6..CNN10 of the article, torchvision ResNet-18/34
# with ReLU6, and the brain-MRI segmentation U-Net (mateuszbuda/brain-segmentation-pytorch); and, for tests only,
# a small CIFAR-sized network built from the ops of mobile networks ("mobile", see MobileMix).
#
# Used by tools/export_models.py to produce ONNX files and reference outputs for the q46 compiler.
# Importing this module has no side effects; use build(name) and input_shape(name).
#
# CIFAR CNN layout (mission brief section 4): input RGB in [0,1], no normalisation; every conv is
# Conv2d(bias=False) + BatchNorm2d; an activation belongs to the *next* layer's input, so a block reads
#     [act] conv bn [pool]
# conv0 is a float 1x1 conv + BN whose output is divided by 2; the first quantized conv gets Hardtanh on its
# input, later convs (and fc1) ReLU6; fc1 is a 2x2 conv with bias and no BN on the final 2x2 map; tanh then
# flatten feed the float fc2 = Linear(fc1_features, 10). Parameter counts include the BN affine parameters
# (weight, bias), which is the convention that reproduces the article's "params" column.

from collections import OrderedDict

import torch
import torch.nn as nn
import torchvision

CIFAR_INPUT = (3, 32, 32)
IMAGENET_INPUT = (3, 224, 224)
UNET_INPUT = (3, 256, 256)
UNET_PARAMS = 7_763_041


class Div(nn.Module):
    """x / divisor; exports as ONNX Div by a Constant."""

    def __init__(self, divisor):
        super().__init__()
        self.divisor = float(divisor)

    def forward(self, x):
        return x / self.divisor

    def extra_repr(self):
        return f"divisor={self.divisor}"


# Body of each CIFAR network after conv0: ("conv name", out channels, kernel, padding) or "pool".
# The comment after each line gives the spatial size that line ends with, as in the brief's table.
_CIFAR_SPECS = {
    "cnn6": dict(conv0=4, fc1=64, body=[
        ("conv1", 8, 5, 0), "pool",                                           # 28 -> 14
        ("conv2", 16, 3, 0), "pool",                                          # 12 -> 6
        ("conv3", 32, 3, 0), "pool",                                          # 4 -> 2
    ]),
    "cnn7": dict(conv0=8, fc1=64, body=[
        ("conv1_1", 8, 3, 0), ("conv1_2", 12, 3, 0), "pool",                  # 30, 28 -> 14
        ("conv2", 16, 3, 0), "pool",                                          # 12 -> 6
        ("conv3", 32, 3, 0), "pool",                                          # 4 -> 2
    ]),
    "cnn8": dict(conv0=8, fc1=64, body=[
        ("conv1_1", 8, 3, 0), ("conv1_2", 12, 3, 0), "pool",                  # 30, 28 -> 14
        ("conv2", 24, 3, 0), "pool",                                          # 12 -> 6
        ("conv3_1", 24, 3, 0), ("conv3_2", 40, 3, 0),                         # 4, 2
    ]),
    "cnn9": dict(conv0=8, fc1=96, body=[
        ("conv1_1", 8, 3, 0), ("conv1_2", 12, 3, 0), "pool",                  # 30, 28 -> 14
        ("conv2_1", 12, 3, 1), ("conv2_2", 24, 3, 0), "pool",                 # 14, 12 -> 6
        ("conv3_1", 24, 3, 0), ("conv3_2", 48, 3, 0),                         # 4, 2
    ]),
    "cnn10": dict(conv0=8, fc1=256, body=[
        ("conv1_1", 16, 3, 1), ("conv1_2", 32, 3, 1), "pool",                 # 32, 32 -> 16
        ("conv2_1", 32, 3, 1), ("conv2_2", 64, 3, 1), "pool",                 # 16, 16 -> 8
        ("conv3_1", 64, 3, 0), ("conv3_2", 64, 3, 0), ("conv3_3", 128, 3, 0), # 6, 4, 2
    ]),
}


class CifarCNN(nn.Sequential):
    """One of the article's CIFAR-10 networks, built from a spec in _CIFAR_SPECS.

    Submodule names (and so ONNX node names) follow the brief: conv0/bn0/div0, then for each body conv
    `act_<conv>` (Hardtanh for the first, ReLU6 after), `<conv>`, `bn_<conv>`, `pool<k>`; then act_fc1 (ReLU6),
    fc1 (2x2 Conv2d with bias), act_fc2 (Tanh), flatten, fc2 (Linear).
    """

    def __init__(self, conv0, fc1, body, num_classes=10):
        layers = OrderedDict()
        layers["conv0"] = nn.Conv2d(3, conv0, 1, bias=False)
        layers["bn0"] = nn.BatchNorm2d(conv0)
        layers["div0"] = Div(2)
        channels, size, pools, first_act = conv0, CIFAR_INPUT[1], 0, nn.Hardtanh
        for item in body:
            if item == "pool":
                pools += 1
                layers[f"pool{pools}"] = nn.MaxPool2d(2)
                size //= 2
                continue
            name, out, kernel, pad = item
            layers[f"act_{name}"] = first_act()
            first_act = nn.ReLU6
            layers[name] = nn.Conv2d(channels, out, kernel, padding=pad, bias=False)
            layers[f"bn_{name}"] = nn.BatchNorm2d(out)
            channels, size = out, size + 2 * pad - kernel + 1
        assert size == 2, f"fc1 expects a 2x2 map, the spec ends at {size}x{size}"
        layers["act_fc1"] = nn.ReLU6()
        layers["fc1"] = nn.Conv2d(channels, fc1, 2, bias=True)
        layers["act_fc2"] = nn.Tanh()
        layers["flatten"] = nn.Flatten()
        layers["fc2"] = nn.Linear(fc1, num_classes)
        super().__init__(layers)


class CNN6(CifarCNN):
    def __init__(self):
        super().__init__(**_CIFAR_SPECS["cnn6"])


class CNN7(CifarCNN):
    def __init__(self):
        super().__init__(**_CIFAR_SPECS["cnn7"])


class CNN8(CifarCNN):
    def __init__(self):
        super().__init__(**_CIFAR_SPECS["cnn8"])


class CNN9(CifarCNN):
    def __init__(self):
        super().__init__(**_CIFAR_SPECS["cnn9"])


class CNN10(CifarCNN):
    def __init__(self):
        super().__init__(**_CIFAR_SPECS["cnn10"])


def resnet(depth):
    """torchvision ResNet-18/34, random init, every ReLU replaced by ReLU6.

    torchvision reuses one `relu` module per BasicBlock (after bn1 and after the residual add) and one on the
    stem, so replacing those attributes replaces every activation.
    """
    factories = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34}
    model = factories[depth](weights=None)
    model.relu = nn.ReLU6(inplace=True)
    for stage in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in stage:
            block.relu = nn.ReLU6(inplace=True)
    assert not any(type(m) is nn.ReLU for m in model.modules())
    return model


class UNet(nn.Module):
    """The brain-MRI segmentation U-Net of mateuszbuda/brain-segmentation-pytorch (unet.py), same module names.

    Four encoder blocks with 2x2 max pooling, a bottleneck, four decoders (2x2 stride-2 ConvTranspose2d, concat
    with the encoder feature, block), a 1x1 conv with bias and a sigmoid. Keeps nn.ReLU.
    """

    def __init__(self, in_channels=3, out_channels=1, init_features=32):
        super().__init__()
        f = init_features
        self.encoder1 = UNet._block(in_channels, f, name="enc1")
        self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.encoder2 = UNet._block(f, f * 2, name="enc2")
        self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.encoder3 = UNet._block(f * 2, f * 4, name="enc3")
        self.pool3 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.encoder4 = UNet._block(f * 4, f * 8, name="enc4")
        self.pool4 = nn.MaxPool2d(kernel_size=2, stride=2)
        self.bottleneck = UNet._block(f * 8, f * 16, name="bottleneck")
        self.upconv4 = nn.ConvTranspose2d(f * 16, f * 8, kernel_size=2, stride=2)
        self.decoder4 = UNet._block(f * 8 * 2, f * 8, name="dec4")
        self.upconv3 = nn.ConvTranspose2d(f * 8, f * 4, kernel_size=2, stride=2)
        self.decoder3 = UNet._block(f * 4 * 2, f * 4, name="dec3")
        self.upconv2 = nn.ConvTranspose2d(f * 4, f * 2, kernel_size=2, stride=2)
        self.decoder2 = UNet._block(f * 2 * 2, f * 2, name="dec2")
        self.upconv1 = nn.ConvTranspose2d(f * 2, f, kernel_size=2, stride=2)
        self.decoder1 = UNet._block(f * 2, f, name="dec1")
        self.conv = nn.Conv2d(in_channels=f, out_channels=out_channels, kernel_size=1)

    def forward(self, x):
        enc1 = self.encoder1(x)
        enc2 = self.encoder2(self.pool1(enc1))
        enc3 = self.encoder3(self.pool2(enc2))
        enc4 = self.encoder4(self.pool3(enc3))
        bottleneck = self.bottleneck(self.pool4(enc4))
        dec4 = self.decoder4(torch.cat((self.upconv4(bottleneck), enc4), dim=1))
        dec3 = self.decoder3(torch.cat((self.upconv3(dec4), enc3), dim=1))
        dec2 = self.decoder2(torch.cat((self.upconv2(dec3), enc2), dim=1))
        dec1 = self.decoder1(torch.cat((self.upconv1(dec2), enc1), dim=1))
        return torch.sigmoid(self.conv(dec1))

    @staticmethod
    def _block(in_channels, features, name):
        return nn.Sequential(OrderedDict([
            (name + "conv1", nn.Conv2d(in_channels, features, kernel_size=3, padding=1, bias=False)),
            (name + "norm1", nn.BatchNorm2d(num_features=features)),
            (name + "relu1", nn.ReLU(inplace=True)),
            (name + "conv2", nn.Conv2d(features, features, kernel_size=3, padding=1, bias=False)),
            (name + "norm2", nn.BatchNorm2d(num_features=features)),
            (name + "relu2", nn.ReLU(inplace=True)),
        ]))


class MobileMix(nn.Module):
    """Not a brief network: a test network with the ops of MobileNetV3 and ShuffleNetV2 (Hardswish, a
    squeeze-excite gate of ReduceMean, Hardsigmoid and a per-channel Mul, depthwise convs, a channel split and
    shuffle) and of other exporters' models (PReLU, LeakyReLU, a ReduceMean head), on a 32x32 input."""

    def __init__(self, classes=10):
        super().__init__()

        def conv_bn(cin, cout, k=1, stride=1, groups=1):
            return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]

        self.stem = nn.Sequential(*conv_bn(3, 16, 3, 2), nn.Hardswish())
        self.depthwise = nn.Sequential(*conv_bn(16, 16, 3, groups=16), nn.ReLU())
        self.squeeze = nn.Sequential(nn.Conv2d(16, 8, 1), nn.ReLU(), nn.Conv2d(8, 16, 1), nn.Hardsigmoid())
        self.expand = nn.Sequential(*conv_bn(16, 32), nn.Hardswish())
        self.branch = nn.Sequential(*conv_bn(16, 16), nn.PReLU(16), *conv_bn(16, 16, 3, groups=16),
                                    *conv_bn(16, 16), nn.LeakyReLU(0.1))
        self.down = nn.Sequential(*conv_bn(32, 48, 3, 2), nn.ReLU6())
        self.fc = nn.Linear(48, classes)

    def forward(self, x):
        x = self.depthwise(self.stem(x))
        x = x * self.squeeze(x.mean((2, 3), keepdim=True))
        x = self.expand(x)
        kept, changed = x.chunk(2, dim=1)
        x = torch.cat([kept, self.branch(changed)], dim=1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)  # channel shuffle
        return self.fc(self.down(x).mean((2, 3)))


def count_params(model):
    """All parameters, BN affine weight/bias included (running statistics are buffers, not counted)."""
    return sum(p.numel() for p in model.parameters())


_BUILDERS = {
    "cnn6": CNN6, "cnn7": CNN7, "cnn8": CNN8, "cnn9": CNN9, "cnn10": CNN10,
    "resnet18": lambda: resnet(18), "resnet34": lambda: resnet(34),
    "unet": UNet,
    "mobile": MobileMix,
}

MODEL_NAMES = tuple(_BUILDERS)


def build(name):
    """A freshly initialised (train-mode) module for one of MODEL_NAMES."""
    if name not in _BUILDERS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
    model = _BUILDERS[name]()
    if name == "unet":
        assert count_params(model) == UNET_PARAMS, count_params(model)
    return model


def input_shape(name):
    """(C, H, W) of one input image for the model `name`."""
    if name.startswith("cnn") or name == "mobile":
        return CIFAR_INPUT
    if name.startswith("resnet"):
        return IMAGENET_INPUT
    if name == "unet":
        return UNET_INPUT
    raise KeyError(f"unknown model {name!r}")
