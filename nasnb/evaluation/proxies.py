"""Zero-cost proxies: score an untrained network from one mini-batch, in milliseconds.

Training is the expensive part of NAS, so Abdelfattah et al. (2021, "Zero-Cost Proxies for
Lightweight NAS") asked how much a network's *initialisation* already tells about how well it will
train. Each proxy below is written from its paper's definition and scores the weights of every
Conv2d and Linear layer (the layers that hold what a network can learn):

* ``synflow`` (Tanaka et al. 2020): with all weights replaced by their absolute values and an
  all-ones input, ``R = sum(f(1))``; score ``sum |w * dR/dw|``. Data-free and label-free; double
  precision keeps the product of many layers from overflowing. BatchNorm runs in eval mode, which at
  initialisation (running mean 0, variance 1) passes signals through unchanged, i.e. the BN-free
  network synflow is defined on. A network whose input cannot reach its output scores exactly 0.
* ``snip`` (Lee et al. 2019): connection sensitivity ``sum |w * dL/dw|`` for the cross-entropy
  ``L`` of the batch: how much the loss would move if each weight were removed.
* ``grad_norm``: the sum over layers of the Euclidean norm of ``dL/dw``.
* ``naswot`` (Mellor et al. 2021, "NAS without training"): every input gets a binary code, one bit
  per activation unit (is the activation's output > 0?). With ``K[i, j]`` the number of bits inputs
  i and j share, the score is ``log det K``: high when inputs are told apart by many different
  activation patterns, ``-inf`` when two inputs share a code (e.g. all of them, in a dead network).
* ``jacov`` (Mellor et al. 2020, v1 of "NAS without training"): the Jacobian of each input's summed
  outputs with respect to that input, one row per input; with ``λ`` the eigenvalues of their
  correlation matrix, the score is ``-Σ [log(λ + k) + 1/(λ + k)]`` (``k = 1e-5``): high when the
  network's local linear maps differ from input to input. ``-inf`` when some input's Jacobian is
  constant (the input does not reach the output). Not in the default ``PROXIES``; ask for it by name.
* ``params``: the number of trainable parameters, the baseline every proxy has to beat.

All proxies see the same batch: ``batch_size`` (default 64) training samples drawn with ``seed``
(default 0) from the dataset's standard split, and each network is initialised from a seed derived
from ``seed`` and the architecture's canonical key, exactly as the Trainer does. Scores are
therefore deterministic. ``snip``, ``grad_norm`` and ``naswot`` use BatchNorm in training mode
(batch statistics), as the network would be at the first training step.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from .._checks import check_int
from ..data import load_dataset
from ..nn import build_model, count_macs, count_params
from ..spaces import Architecture, BaseSpace, CellSpace, as_rng, network_part
from .control import checkpoint, report_progress
from .devices import derive_seed
from .recipes import RECIPES, recipe
from .threads import DEFAULT_THREADS, limited_threads

PROXIES = ("synflow", "snip", "grad_norm", "naswot", "params")  # the default set
AVAILABLE = (*PROXIES, "jacov")  # every proxy a name can ask for
_GRADIENT_PROXIES = ("snip", "grad_norm")
_ACTIVATIONS = (nn.ReLU, nn.GELU, nn.Tanh)


def _scored_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def synflow(model: nn.Module, x: Tensor) -> float:
    """Synaptic flow of ``model`` (a copy is scored; the model is left unchanged).

    Only the shape of the batch ``x`` is used: synflow feeds a single all-ones input.
    """
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad(set_to_none=True)
    net(torch.ones((1, *x.shape[1:]), dtype=torch.float64)).sum().backward()
    with torch.no_grad():
        return float(
            sum((m.weight * m.weight.grad).abs().sum() for m in _scored_layers(net) if m.weight.grad is not None)
        )


def loss_gradients(model: nn.Module, x: Tensor, y: Tensor) -> dict[str, float]:
    """``snip`` and ``grad_norm`` from one backward pass of the cross-entropy on ``(x, y)``."""
    net = copy.deepcopy(model).train()
    net.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(net(x), y).backward()
    snip_score, norm = 0.0, 0.0
    with torch.no_grad():
        for m in _scored_layers(net):
            if m.weight.grad is not None:
                snip_score += float((m.weight.grad * m.weight).abs().sum())
                norm += float(m.weight.grad.norm())
    return {"snip": snip_score, "grad_norm": norm}


def activation_codes(model: nn.Module, x: Tensor) -> Tensor:
    """Binary code of each input (rows): the sign pattern of every ReLU/GELU/Tanh output unit."""
    net = copy.deepcopy(model).train()
    codes: list[Tensor] = []

    def hook(module: nn.Module, inputs: Any, output: Tensor) -> None:
        codes.append((output.detach() > 0).flatten(1))

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, _ACTIVATIONS)]
    if not handles:
        raise ValueError(
            f"naswot needs ReLU, GELU or Tanh activations to read codes from; {type(model).__name__} has none"
        )
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return torch.cat(codes, dim=1).double()


def naswot(model: nn.Module, x: Tensor) -> float:
    """log det of the Hamming-similarity kernel of the activation codes of the batch ``x``."""
    codes = activation_codes(model, x)
    kernel = codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else float("-inf")


def jacov(model: nn.Module, x: Tensor, k: float = 1e-5) -> float:
    """Jacobian covariance score of ``model`` on the batch ``x`` (see the module docstring)."""
    net = copy.deepcopy(model).train()
    inputs = x.detach().clone().requires_grad_(True)
    out = net(inputs).sum()
    if not out.requires_grad:  # the input never reaches the output
        return float("-inf")
    out.backward()
    if inputs.grad is None:
        return float("-inf")
    jac = inputs.grad.reshape(len(inputs), -1).double()
    centred = jac - jac.mean(dim=1, keepdim=True)
    norms = centred.norm(dim=1)
    if bool((norms == 0).any()):
        return float("-inf")
    unit = centred / norms[:, None]
    eigenvalues = torch.linalg.eigvalsh(unit @ unit.T)
    return float(-torch.sum(torch.log(eigenvalues + k) + 1.0 / (eigenvalues + k)))


def score_model(model: nn.Module, x: Tensor, y: Tensor, proxies: Sequence[str] = PROXIES) -> dict[str, float]:
    """Every proxy in ``proxies`` for ``model`` on the batch ``(x, y)``; the model is not modified."""
    names = check_proxies(proxies)
    scores: dict[str, float] = {}
    if any(p in names for p in _GRADIENT_PROXIES):
        scores.update(loss_gradients(model, x, y))
    if "synflow" in names:
        scores["synflow"] = synflow(model, x)
    if "naswot" in names:
        scores["naswot"] = naswot(model, x)
    if "jacov" in names:
        scores["jacov"] = jacov(model, x)
    if "params" in names:
        scores["params"] = float(count_params(model))
    return {name: scores[name] for name in names}


def check_proxies(proxies: str | Sequence[str]) -> tuple[str, ...]:
    names = (proxies,) if isinstance(proxies, str) else tuple(proxies)
    unknown = [p for p in names if p not in AVAILABLE]
    if unknown or not names:
        raise ValueError(f"proxy must be one or more of {list(AVAILABLE)}, got {proxies!r}")
    return names


class ProxyBatch(NamedTuple):
    """The fixed batch every architecture is scored on (``x``, ``y``) and the ``data`` it came from."""

    x: Tensor
    y: Tensor
    data: Any


def proxy_batch(dataset: str = "digits", *, batch_size: int = 64, seed: int = 0) -> ProxyBatch:
    """The fixed batch every architecture is scored on, and the dataset it came from."""
    check_int("proxy_batch", "batch_size", batch_size, low=2)  # naswot compares inputs: at least two
    data = load_dataset(dataset)
    order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(seed))[:batch_size]
    return ProxyBatch(data.train.x[order], data.train.y[order], data)


def build_proxy_model(
    arch: Architecture, data: Any, *, seed: int = 0, network: dict[str, Any] | None = None
) -> nn.Module:
    """The untrained network the proxies score, initialised like the Trainer would (seeded by the key).

    ``network=None`` uses the dataset's table recipe (channels, cells, stages) for a cell, so proxy
    scores describe the tabulated networks; the recipe describes cell networks, so a chain (which
    takes only ``dropout``) is built with its own defaults.
    """
    if network is None:
        network = recipe(data.name)["network"] if data.name in RECIPES and _is_cell(arch) else {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, arch.key))
        return build_model(arch, data.input_shape, data.num_classes, **network)


def _is_cell(arch: Architecture) -> bool:
    return isinstance(network_part(arch).space, CellSpace)


class ProxyEvaluator:
    """Evaluator that scores architectures with zero-cost proxies instead of training them.

    ``ProxyEvaluator("synflow")(arch)`` returns ``{"synflow": score, "params": ..., "macs": ...}``;
    several proxies at once with ``ProxyEvaluator(["synflow", "naswot"])``. There is deliberately
    no ``accuracy``: a proxy score is not an accuracy, so rank by it with
    ``Search(..., metric="synflow")``. The network is built with the dataset's table recipe
    (``network``, default the recipe's channels and stages), so proxy scores and table accuracies
    describe the same networks. A ``naswot`` of ``-inf`` (inputs not told apart) makes a search record
    a failed trial, since it ranks by finite scores only. Any chain or cell space (alone or with
    hyperparameters) works. ``threads`` limits torch's CPU threads during each call, as for every
    evaluator (``nasnb.evaluation.threads``; default 1).
    """

    name = "proxy"

    def __init__(
        self,
        proxy: str | Sequence[str] = "synflow",
        dataset: str = "digits",
        *,
        batch_size: int = 64,
        seed: int = 0,
        network: dict[str, Any] | None = None,
        threads: int | None = DEFAULT_THREADS,
    ) -> None:
        self.proxy = proxy
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed
        self.network = network
        self.threads = threads

    def get_config(self) -> dict[str, Any]:
        proxy = self.proxy if isinstance(self.proxy, str) else list(self.proxy)
        return {
            "proxy": proxy,
            "dataset": self.dataset,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "network": self.network,
            "threads": self.threads,
        }

    def __repr__(self) -> str:
        return f"ProxyEvaluator({self.proxy!r}, {self.dataset!r})"

    def __call__(self, arch: Architecture) -> dict[str, Any]:
        names = check_proxies(self.proxy)
        check_int(self, "seed", self.seed, low=0)
        if getattr(self, "batch_", None) is None:
            self.batch_ = proxy_batch(self.dataset, batch_size=self.batch_size, seed=self.seed)
        x, y, data = self.batch_
        with limited_threads(self.threads, self):
            model = build_proxy_model(arch, data, seed=self.seed, network=self.network)
            scores: dict[str, Any] = score_model(model, x, y, names)
            scores["params"] = count_params(model)
            scores["macs"] = count_macs(model, data.input_shape)
        return scores


@dataclass(frozen=True)
class Candidate:
    """A pre-screened architecture: its proxy score and its rank among all scored candidates (1 = best)."""

    arch: Architecture
    score: float
    rank: int


def prescreen(
    space: BaseSpace,
    proxy: str = "synflow",
    *,
    n_candidates: int = 100,
    keep: int = 10,
    seed: int = 0,
    dataset: str = "digits",
    batch_size: int = 64,
    network: dict[str, Any] | None = None,
    threads: int | None = DEFAULT_THREADS,
) -> list[Candidate]:
    """Score ``n_candidates`` distinct random architectures with ``proxy``; the best ``keep``, best first.

    A proxy costs milliseconds where training costs seconds, so a search can afford to look at many
    candidates and train only the promising ones. Candidates are distinct by canonical key (fewer when
    the space is smaller); ties keep sampling order; ``-inf``/NaN scores rank last.
    """
    name = check_proxies(proxy)
    if len(name) != 1:
        raise ValueError(f"prescreen ranks by one proxy; proxy must be one of {list(AVAILABLE)}, got {proxy!r}")
    check_int("prescreen", "n_candidates", n_candidates, low=1)
    check_int("prescreen", "keep", keep, low=1, high=n_candidates)
    rng = as_rng(seed)
    archs: dict[str, Architecture] = {}
    for _ in range(20 * n_candidates):
        if len(archs) == n_candidates:
            break
        arch = space.sample(rng)
        archs.setdefault(arch.key, arch)
    evaluator = ProxyEvaluator(name[0], dataset, batch_size=batch_size, seed=seed, network=network, threads=threads)
    scored = []
    for i, arch in enumerate(archs.values()):
        checkpoint()
        score = evaluator(arch)[name[0]]
        scored.append((score if math.isfinite(score) else -math.inf, i, arch))
        report_progress(scored=i + 1, candidates=len(archs))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [Candidate(arch, score, rank) for rank, (score, _, arch) in enumerate(scored[:keep], start=1)]
