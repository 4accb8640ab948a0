"""The layers of a float32 model that differ from what its architecture builds, written into a packed file.

A packed file rebuilds its network from the architecture (``build_model``) and loads the buffer into
it. Two compression techniques change the layers themselves, so the rebuilt network would not fit:
structured pruning narrows convolutions, BatchNorms and the classifier (fewer channels), and low rank
replaces a convolution or linear layer by a pair of thinner ones (``nn.Sequential``). ``layer_changes``
finds those layers by comparing the model with the network its description builds, and describes
each by its constructor arguments; ``apply_layer_changes`` puts such layers into the rebuilt network
before the weights are loaded. The network code itself has no channel counts of its own (every op
is a module, and sums add whatever widths arrive), so changing the modules is enough; the packed
file's loader still checks that every tensor fits, and ``nasnb.compress.record.packed_bytes`` that
the outputs are identical.

Only convolutions, BatchNorms, linear layers and sequences of them can be described; any other
difference raises TypeError, and the model is not packed.
"""

from __future__ import annotations

from typing import Any

from torch import nn

_LEAVES = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)


def layer_spec(module: nn.Module) -> dict[str, Any]:
    """The constructor arguments that rebuild ``module`` (without its weights), as JSON-able data."""
    if isinstance(module, nn.Conv2d):
        return {
            "conv2d": [
                module.in_channels,
                module.out_channels,
                list(module.kernel_size),
                list(module.stride),
                list(module.padding) if not isinstance(module.padding, str) else module.padding,
                list(module.dilation),
                module.groups,
                module.bias is not None,
                module.padding_mode,
            ]
        }
    if isinstance(module, nn.BatchNorm2d):
        return {
            "batchnorm2d": [
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
            ]
        }
    if isinstance(module, nn.Linear):
        return {"linear": [module.in_features, module.out_features, module.bias is not None]}
    if type(module) is nn.Sequential:
        return {"sequential": [layer_spec(child) for child in module]}
    raise TypeError(f"a packed file cannot describe a {type(module).__name__} layer that differs from the architecture")


def build_layer(spec: dict[str, Any]) -> nn.Module:
    """The module ``layer_spec`` described, with fresh (to be loaded) weights."""
    (kind, args), *rest = spec.items()
    if rest:
        raise ValueError(f"a layer description has one kind, got {sorted(spec)}")
    if kind == "conv2d":
        c_in, c_out, kernel, stride, padding, dilation, groups, bias, padding_mode = args
        padding = padding if isinstance(padding, str) else tuple(padding)
        return nn.Conv2d(
            c_in, c_out, tuple(kernel), tuple(stride), padding, tuple(dilation), groups, bias, padding_mode
        )
    if kind == "batchnorm2d":
        features, eps, momentum, affine, track = args
        return nn.BatchNorm2d(features, eps, momentum, affine, track)
    if kind == "linear":
        return nn.Linear(*args)
    if kind == "sequential":
        return nn.Sequential(*(build_layer(s) for s in args))
    raise ValueError(f"unknown layer kind {kind!r} in a packed file")


def layer_changes(model: nn.Module, reference: nn.Module) -> dict[str, dict[str, Any]]:
    """``{module name: layer_spec}`` for every layer of ``model`` that ``reference`` (its architecture's
    freshly built network) does not have as it is; empty when the model is the architecture's network.

    A layer that became a ``Sequential`` (low rank) is described whole; a convolution, BatchNorm or
    linear layer with other shapes (pruning) by its new arguments. Raises TypeError for a difference
    that cannot be described (a layer the architecture lacks, or of another kind).
    """
    built = dict(reference.named_modules())
    changes: dict[str, dict[str, Any]] = {}
    for name, module in model.named_modules():
        if any(name.startswith(prefix + ".") for prefix in changes):
            continue  # inside a layer already described whole
        if not isinstance(module, _LEAVES) and type(module) is not nn.Sequential:
            continue  # containers and parameter-free ops: the architecture builds them as they were
        original = built.get(name)
        if original is None:
            if isinstance(module, _LEAVES):
                raise TypeError(f"the model has a {type(module).__name__} at {name!r} that its architecture lacks")
            continue
        if type(module) is nn.Sequential and type(original) is nn.Sequential:
            continue  # compare the children one by one
        if type(module) is not nn.Sequential and not isinstance(original, _LEAVES):
            raise TypeError(
                f"the model's {name!r} is a {type(module).__name__}, its architecture's a {type(original).__name__}"
            )
        spec = layer_spec(module)
        if isinstance(original, _LEAVES) and spec == layer_spec(original):
            continue
        changes[name] = spec
    return changes


def apply_layer_changes(model: nn.Module, changes: dict[str, dict[str, Any]]) -> nn.Module:
    """Put the layers ``changes`` describes into ``model`` (in place) and return it."""
    for name, spec in changes.items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        if not hasattr(parent, child):
            raise ValueError(f"the network has no layer {name!r} to replace")
        setattr(parent, child, build_layer(spec))
    return model
