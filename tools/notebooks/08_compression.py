# %% [markdown]
# # 8 · Compression and distillation: making a found network small, and seeing what it cost
#
# A search hands you the most accurate architecture it found. To run it on a phone or a
# microcontroller you usually want it **smaller and faster**, and you want to know what that costs
# in accuracy. This notebook applies the four classic techniques to a network found by a search,
# measures each the same way, and explains what each one removed:
#
# | technique | what it removes |
# |---|---|
# | **int8 quantisation** | precision: 32-bit floats become 8-bit integers |
# | **pruning** | weights (unstructured) or whole channels (structured) that matter least |
# | **low rank** | redundancy inside a layer: one layer becomes two thinner ones |
# | **distillation** | the big network itself: a small *student* learns from the big *teacher* |
#
# Every technique returns the same record: size as saved, parameters, multiply-accumulates (MACs),
# CPU latency at batch 1 and 64, and accuracy on the **test** split, which no technique ever sees.

# %%
import shutil
import warnings

import matplotlib.pyplot as plt
import torch

import nasnb
from nasnb import CellSpace, Search
from nasnb.compress import (
    CompressionAwareEvaluator,
    distill,
    measure,
    plot_distillation,
    plot_edge_sensitivity,
    plot_pruned_cell,
    plot_tradeoff,
    prune_structured,
    prune_unstructured,
    pruned_cell_graph,
    quantize_int8,
    rank_sweep,
    sensitivity,
    tradeoff_points,
)
from nasnb.data import load_dataset
from nasnb.deploy import retrain
from nasnb.evaluation import TableEvaluator, Trainer
from nasnb.nn import build_model

warnings.filterwarnings("ignore")  # torch's deprecation notices about its own quantisation tools
torch.set_num_threads(1)

# %% [markdown]
# ## A model to compress
#
# We search the benchmark table (instant: every cell was trained once with a fixed recipe) and keep
# the run on disk. The table stores accuracies, not weights, so we **retrain** the best cell with the
# table's recipe: `retrain(run_dir, "best", keep=True)` trains it (same recipe and seed as the table)
# and keeps its weights in the run, after which `nasnb.load_model(run_dir, "best")` gives it back as a
# ready `nn.Module` in eval mode.

# %%
# NBVAL_CHECK_OUTPUT
shutil.rmtree("runs/08_compression", ignore_errors=True)
search = Search(CellSpace(), "evolution", TableEvaluator("digits"), budget=150, seed=0, run_dir="runs/08_compression")
search.run()
search.close()
print("best cell found:", search.best.arch)
trained = retrain("runs/08_compression", "best", keep=True)
teacher = nasnb.load_model("runs/08_compression", "best")
data = load_dataset("digits")
print("reloaded from the run:", type(teacher).__name__, "in eval mode:", not teacher.training)

# %% [markdown]
# The baseline record. `size_bytes` is the file `torch.save` writes; `tensor_bytes` counts the
# numbers alone. For a network this small the file's bookkeeping (names, and later the scales of
# int8 layers) is a large share of it, so we keep both.

# %%
baseline = measure(teacher, data, "baseline")
print(f"{baseline.params:,} params, {baseline.macs:,} MACs, {baseline.size_bytes:,} bytes as saved "
      f"({baseline.tensor_bytes:,} in tensors)")
print(f"latency {baseline.latency_ms_b1:.2f} ms at batch 1, {baseline.latency_ms_b64:.2f} ms at batch 64; "
      f"test accuracy {baseline.test_accuracy:.4f}")

# %% [markdown]
# ## 1 · int8 quantisation
#
# Each weight `w` is stored as an 8-bit integer `q` with a per-layer (or per-channel) scale `s` and
# zero point `z`: `w ≈ s · (q − z)`. Convolutions are quantised **statically**: the range of their
# *activations* is measured once on a few hundred training images (calibration), so at run time
# everything stays in integers. The final linear layer is quantised **dynamically** (its input range
# is measured per batch). The cell's sums `a + b` become quantised additions.

# %%
int8 = quantize_int8(teacher, data, calibration=256)
ratios = int8.ratios(baseline)
print(f"{ratios['tensor_size_ratio']:.2f}x fewer bytes in tensors, {ratios['size_ratio']:.2f}x smaller file")
print(f"speed-up {ratios['speedup_b1']:.2f}x at batch 1, {ratios['speedup_b64']:.2f}x at batch 64")
print(f"accuracy change {ratios['accuracy_change_points']:+.2f} points")
print(int8.layers[:3])

# %% [markdown]
# The numbers shrink four-fold, as 8 bits against 32 should. The *file* shrinks less: each
# quantised layer stores scales and zero points, which for an 8-channel network are as big as the
# weights. Speed is also honest here: on 8×8 images with 8 channels, the time goes into
# calling small kernels, not into arithmetic, so int8 kernels gain little (they shine on wide layers).
#
# ## 2 · Pruning, and what the accuracy depends on
#
# Before cutting, ask **what matters**. `sensitivity` takes one thing away at a time: it prunes one
# layer alone, or removes one cell edge (its output replaced by zeros), and measures the validation
# accuracy. A big drop means the network depends on it.

# %%
rows = sensitivity(teacher, data, ratios=(0.5,))
plot_edge_sensitivity(rows);

# %% [markdown]
# **Structured pruning** removes whole channels. In a cell every node is a *sum* of edges, so
# channel 3 of one edge must go together with channel 3 of everything it is added to (and the skip
# edges tie the whole stage together). torch-pruning's dependency graph finds these coupled groups;
# `prune_structured` removes half of each group's channels (smallest L2 norm first) and fine-tunes
# for a few epochs to win back what was lost (first it re-estimates the BatchNorm averages, which
# the cut made wrong; that alone costs no training). The drawing shows what is left: thinner arrows
# carry fewer channels, the grey halo is what was cut.

# %%
pruned = prune_structured(teacher, data, ratio=0.5, finetune_epochs=5)
print(pruned.settings)
print(f"{pruned.params:,} params (was {baseline.params:,}); test accuracy {pruned.test_accuracy:.4f}")
plot_pruned_cell(pruned_cell_graph(trained.arch, pruned, cell=0));

# %% [markdown]
# **Unstructured pruning** zeroes the smallest half of all weights instead. The tensors keep their
# shape, so the file does not shrink and dense kernels are not faster; what changes is how many
# weights are *non-zero*, which a sparse format or sparse hardware can exploit.

# %%
sparse = prune_unstructured(teacher, data, amount=0.5)
print(f"non-zero weights {sparse.nonzero_params:,} of {sparse.params:,}; test accuracy {sparse.test_accuracy:.4f}")

# %% [markdown]
# ## 3 · Low rank
#
# A layer's weight matrix `W` is replaced by its truncated singular value decomposition
# `U_r S_r V_rᵀ`: two thinner layers. A 3×3 convolution becomes a 3×3 convolution to `r` channels
# followed by a 1×1 convolution. The rank `r` sets the trade-off; a sweep shows it.

# %%
sweep = rank_sweep(teacher, data, ratios=(0.25, 0.5, 0.75))
for r in sweep:
    print(f"rank ratio {r.settings['rank_ratio']}: {r.params:,} params, test accuracy {r.test_accuracy:.4f}")

# %% [markdown]
# ## Every technique on one chart
#
# Up and to the left is better. Each technique pays its own price: int8 keeps the accuracy and cuts
# the bytes; structured pruning cuts everything and needs fine-tuning; low rank without fine-tuning
# loses accuracy fast as the rank falls (try `rank_sweep(..., finetune_epochs=2)`).

# %%
points = tradeoff_points(baseline, [int8, pruned, sparse, *sweep])
plot_tradeoff(points);

# %% [markdown]
# ## 4 · Distillation
#
# A *student* — here the same cell with 3 channels instead of 8 — is trained to match the teacher's
# class probabilities softened by a temperature T (Hinton et al. 2015):
#
# loss = α · T² · KL(teacher_T ‖ student_T) + (1 − α) · cross-entropy(student, label)
#
# The soft probabilities say which wrong answers the teacher finds plausible ("this 3 looks a bit
# like an 8"), which a one-hot label cannot. To *measure* the gain instead of assuming it, the same
# student (same initial weights, same batches, same recipe) is also trained alone.

# %%
torch.manual_seed(0)
student = build_model(trained.arch, data.input_shape, data.num_classes, channels=3)
kd = distill(teacher, student, data, temperature=4.0, alpha=0.5, epochs=10, lr=0.05, seed=0)
print(f"teacher {kd.teacher_accuracy:.4f} | student alone {kd.alone.test_accuracy:.4f} | "
      f"distilled {kd.student.test_accuracy:.4f} ({kd.gain_points:+.2f} points), {kd.student.params:,} params")
plot_distillation(kd);

# %% [markdown]
# One seed is an anecdote, and the difference here can go either way: `benchmarks/bench_compress.py`
# repeats this over seeds and reports the spread (on the table's best cell, 3-channel students gained
# 2.5 to 3.9 points over three seeds). The per-class bars show *where* the teacher's knowledge helped, and `agreement` how often
# the student now answers like its teacher.
#
# ## 5 · Searching for what survives compression
#
# An architecture that wins in float32 can lose more than others once quantised. The seeds'
# objective **T = P + G − C** scores performance P (here: validation accuracy *after* int8), the
# generalisation term G = validation − training accuracy (negative when a network overfits), and a
# complexity cost C (parameters, bytes or latency, times λ). `CompressionAwareEvaluator` reports all
# of them, and a search with `metric="int8_accuracy"` ranks candidates by their deployed accuracy.

# %%
aware = CompressionAwareEvaluator(Trainer(epochs=2, network={"channels": 8}), lam=0.02, normalize=1000.0)
for text in (search.best.arch, "|conv_1x1~0|+|skip_connect~0|conv_1x1~1|+|skip_connect~0|none~1|conv_1x1~2|"):
    m = aware(CellSpace().parse(text))
    print(f"float {m['accuracy']:.3f}  int8 {m['int8_accuracy']:.3f}  G {m['generalisation']:+.3f}  "
          f"params {m['params']:,}  T {m['objective']:.3f}")

# %% [markdown]
# ## Exercises
#
# Each cell checks your answer and says "correct" or "not yet" with a hint.
#
# **1.** How many times fewer *tensor* bytes does the int8 model need than the baseline? Compute it
# from `int8.tensor_bytes` and `baseline.tensor_bytes`.

# %%
answer_1 = None  # your computation here
if answer_1 is None:
    print("not yet: divide the baseline's tensor_bytes by the int8 model's")
else:
    ok = abs(answer_1 - baseline.tensor_bytes / int8.tensor_bytes) < 0.01
    print("correct" if ok else "not yet: bigger is smaller here — baseline over int8")

# %% [markdown]
# **2.** Which cell edge does the accuracy depend on most? Give `(cell, edge)` from `rows`
# (the rows with `kind == "edge"`, largest `drop`).

# %%
answer_2 = None  # e.g. (0, "0->1")
if answer_2 is None:
    print("not yet: filter rows by r['kind'] == 'edge' and take the largest r['drop']")
else:
    top = max((r for r in rows if r["kind"] == "edge"), key=lambda r: r["drop"])
    print("correct" if tuple(answer_2) == (top["cell"], top["edge"]) else "not yet: sort the edge rows by drop")

# %% [markdown]
# **3.** With α = 0 the distillation loss must be plain cross-entropy. Check it with
# `nasnb.compress.hinton_loss(student_logits, teacher_logits, labels, temperature, alpha)` on any
# logits you like, and set `answer_3` to the absolute difference from
# `torch.nn.functional.cross_entropy(student_logits, labels)`.

# %%
answer_3 = None
if answer_3 is None:
    print("not yet: call hinton_loss with alpha=0.0 and compare with cross_entropy")
else:
    print("correct" if float(answer_3) < 1e-6 else "not yet: with alpha=0 the soft term has weight zero")

# %% [markdown]
# **Try it yourself**: prune 75 % of the channels (`ratio=0.75`); fine-tune longer; distil into a
# *different* small cell (`student = build_model(CellSpace().parse("..."), ...)`).
