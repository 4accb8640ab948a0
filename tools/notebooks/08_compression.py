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
# Every technique returns the same record: size as saved (in two file formats), parameters,
# multiply-accumulates (MACs), CPU latency at batch 1 and 64, and accuracy on the **test** split,
# which no technique ever sees.

# %%
import shutil

import matplotlib.pyplot as plt
import torch

import nasnb
from nasnb import CellSpace, Search
from nasnb.compress import (
    CompressionAwareEvaluator,
    distill,
    hinton_loss,
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

torch.set_num_threads(1)  # latencies below are for one CPU thread

# %% [markdown]
# ## A model to compress
#
# We search the benchmark table (instant: every cell was trained once with a fixed recipe) and keep
# the run on disk. The table stores accuracies, not weights, so we **retrain** the best cell with the
# table's recipe: `retrain(run_dir, "best", keep=True)` trains it (same recipe and seed as the table)
# and keeps its weights in the run, after which `nasnb.load_model(run_dir, "best")` gives it back as a
# ready `nn.Module` in eval mode. This search finds the table's best cell, the network the course's
# benchmarks (`benchmarks/bench_distill.py`, `bench_compress.py`) compress too, so their measurements
# over many seeds apply to it.

# %%
# NBVAL_CHECK_OUTPUT
shutil.rmtree("runs/08_compression", ignore_errors=True)
search = Search(CellSpace(), "evolution", TableEvaluator("digits"), budget=150, seed=1, run_dir="runs/08_compression")
search.run()
search.close()
print("best cell found:", search.best.arch)
trained = retrain("runs/08_compression", "best", keep=True)
teacher = nasnb.load_model("runs/08_compression", "best")
data = load_dataset("digits")
print("reloaded from the run:", type(teacher).__name__, "in eval mode:", not teacher.training)

# %% [markdown]
# The baseline record. `size_bytes` is the file `torch.save` writes; `packed_bytes` is nasnb's own
# compact file (`nasnb.deploy.pack`: one small header with the architecture and every scale as a
# number, then all tensors in one buffer), which needs to know the architecture: we pass the
# trial's weights record as `description`. `tensor_bytes` counts the numbers alone. For a network
# this small a file's bookkeeping (names, and later the scales of int8 layers) can be a large share
# of it, so we keep all three.

# %%
baseline = measure(teacher, data, "baseline", description=trained.record)
print(f"{baseline.params:,} params, {baseline.macs:,} MACs; {baseline.size_bytes:,} bytes as torch.save writes "
      f"them, {baseline.packed_bytes:,} packed, {baseline.tensor_bytes:,} in tensors")
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
int8 = quantize_int8(teacher, data, calibration=256, description=trained.record)
ratios = int8.ratios(baseline)
print(f"tensors {baseline.tensor_bytes:,} -> {int8.tensor_bytes:,} bytes; files {ratios['size_ratio']:.2f}x smaller "
      f"as torch.save writes them, {ratios['packed_size_ratio']:.2f}x smaller packed")
print(f"test accuracy {baseline.test_accuracy:.4f} -> {int8.test_accuracy:.4f} "
      f"({ratios['accuracy_change_points']:+.2f} points)")
print(f"how each layer was quantised (int8.layers, {len(int8.layers)} rows), the first three:")
for row in int8.layers[:3]:
    print(f"  {row['layer']:<20} {row['type']:<7} {row['quantised']}")

# %% [markdown]
# The numbers shrink four-fold, as 8 bits against 32 should. The `torch.save` file shrinks much less:
# it writes every tensor as its own record in a zip archive, and an int8 layer adds a scale and a
# zero point, each a record of its own (a few hundred bytes of bookkeeping for 4 or 8 bytes of
# number), which for an 8-channel network weigh as much as the weights. The packed file keeps all of
# that in one header, so it shrinks nearly as much as the numbers: that is the file to ship
# (`nasnb export --format packed-int8`, notebook 10).
#
# Speed has a catch. Cells with 3×3 *average pooling* edges spend much of their time there (this
# cell has three: about half its time), and torch's int8 pooling has no fast kernel below 16
# channels, so `quantize_int8` runs each pooling as one matrix product instead (pooling is linear:
# `x @ P` for a fixed matrix `P`). That trick speeds float32 up just as much, so against the plain
# baseline int8 would be credited with what the pooling earned. A fair comparison changes one thing
# at a time, as both files above had the same format: `quantize_int8` also times float32 pooled the
# same way (`matmul_pooling`), in turn with the int8 model (one pass each, thirty times) so that
# both meet the same load, and keeps both in `int8.settings`.

# %%
same = int8.settings  # float32 pooled alike and the int8 model were timed in turn, pass by pass
print("median of 30 runs, ms     float32   float32, matrix pooling   int8")
for batch in (1, 64):
    reference = same[f"float32_same_pooling_ms_b{batch}"]
    print(f"batch {batch:<2}                 {getattr(baseline, f'latency_ms_b{batch}'):>7.2f}   "
          f"{reference:>23.2f}   {reference / same[f'like_for_like_speedup_b{batch}']:>4.2f}")
print(f"int8 against float32 pooled alike: {same['like_for_like_speedup_b1']:.2f}x as fast at batch 1, "
      f"{same['like_for_like_speedup_b64']:.2f}x at batch 64")

# %% [markdown]
# Only the last two columns differ in one thing alone, int8. Timings of a few milliseconds move by
# tens of percent from run to run on a busy machine (rerun the notebook and they change), so read
# this one measurement with care and the benchmark for the settled answer: `benchmarks/bench_compress.py`
# repeats it and measured int8 at 0.8–0.9× the speed of float32 pooled alike. Like for like, int8
# is well over 3× smaller, but at 8 channels it is no faster: eight channels fill few of
# the int8 vector lanes, and at this size every layer costs more in overhead than in arithmetic.
# Timed one layer at a time, the int8 convolutions themselves are only 1.0–1.2× faster than float32's
# at this width, while int8 adds quantise and dequantise steps around every pooling and sum
# (`benchmarks/bench_int8_kernels.py`). Even PyTorch 2's compiler, which fuses those steps into a
# few loops, makes 8-channel int8 only 1.15× faster than float32 compiled the same way
# (`bench_int8_compiled.py`). Wider layers are where int8 pays: at 32 channels the same cell runs
# about 2× faster in int8, like for like. To *ship* the smallest file, use `nasnb export --format
# packed-int8` (the packed format), or `format="onnx-int8"` for onnxruntime (notebook 10).
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
# carry fewer channels, the grey halo is what was cut. Skip and pooling edges have no weights of
# their own, but they carry the channels of their stage, so they thin out with it.

# %%
pruned = prune_structured(teacher, data, ratio=0.5, finetune_epochs=5, description=trained.record)
s = pruned.settings
print(f"validation accuracy {s['val_accuracy_before_finetune']:.1%} right after the cut (BatchNorm re-estimated), "
      f"{s['val_accuracy_after_finetune']:.1%} after {s['finetune_epochs']} epochs of fine-tuning")
print(f"{pruned.params:,} params (was {baseline.params:,}); test accuracy {pruned.test_accuracy:.4f}; "
      f"packed file {pruned.ratios(baseline)['packed_size_ratio']:.2f}x smaller (it lists the narrowed layers)")
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
# Up and to the left is better; the dashed lines cross at the baseline (the black star). The
# accuracy axis shows the points near the baseline; a point far below sits on the lower edge as ▼
# with its accuracy in brackets. Each technique pays its own price: int8 keeps the accuracy and cuts
# the bytes; structured pruning cuts everything and needs fine-tuning; low rank without fine-tuning
# loses accuracy fast as the rank falls (try `rank_sweep(..., finetune_epochs=2)`).

# %%
points = tradeoff_points(baseline, [int8, pruned, sparse, *sweep])
plot_tradeoff(points);

# %% [markdown]
# The latency panel is one timing each, on a shared CPU: points a millisecond apart may swap places
# on the next run. Do not read the low-rank points as "fewer parameters, so faster": even rank 0.25,
# with a third of the parameters, buys no speed here. Low rank turns every convolution into two, and
# at 8–16 channels a layer's time is mostly fixed overhead, not arithmetic (timed alone, a 3×3
# convolution to 2 channels takes about as long as one to 8), so a lower rank saves no time while the
# extra layers cost some: the low-rank points usually sit to the right of the baseline, and their
# order among themselves is timing noise. Low rank pays off for wide layers, where arithmetic dominates.

# %% [markdown]
# ## 4 · Distillation
#
# A *student* — here the teacher's cell with 3 channels instead of 8 — is trained to match the teacher's
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
# One seed is an anecdote, so `benchmarks/bench_distill.py` repeats exactly this (this teacher, this
# 3-channel student, seeds 0–4; seed 0 is the run above) and tests the pairs. The distilled student
# won in all five seeds, by +2.5 to +7.8 points: mean +4.4, standard deviation 2.0, paired t-test
# p = 0.008. It measured other students too, and distillation helped in this regime only.
# A 2-channel student *lost* accuracy (too small to follow the soft targets), and students of 4 or
# 6 channels, or a 5k-parameter cell found by a size-limited search, already matched the teacher
# alone: their differences were within seed noise. The per-class bars show *where* the teacher's
# knowledge helped, and `agreement` how often the student now answers like its teacher.
#
# ## 5 · Searching for what survives compression
#
# An architecture that wins in float32 can lose more than others once quantised. To judge each
# candidate as it will be deployed, `CompressionAwareEvaluator` trains it, quantises the trained
# network to int8 and scores the int8 copy on the validation split. It also reports one number
# that weighs three things, the objective **T = P + G − C**: performance P (validation accuracy
# *after* int8), generalisation G = validation − training accuracy (negative when a network
# overfits), and a complexity cost C (here parameters in thousands, times λ = 0.02).
#
# A search trains every candidate, so this evaluator trains each for **2 epochs only** to stay quick.
# Its accuracies are therefore far below the 95–98 % above (the table's recipe trains 6 epochs, with
# its own step size and batch): they rank candidates, they do not predict a fully trained network.
# First the two cells this notebook met: the teacher's, and the smallest cell of
# `bench_distill.py`'s size-limited search (1×1 convolutions and skips only, 5k parameters).

# %%
aware = CompressionAwareEvaluator(Trainer(epochs=2, network={"channels": 8}), lam=0.02, normalize=1000.0)
small = "|conv_1x1~0|+|skip_connect~0|conv_1x1~1|+|skip_connect~0|none~1|conv_1x1~2|"
print("cell                     val float32   val int8      G   params      T")
for name, text in (("teacher's (table best)", search.best.arch), ("small 1x1-and-skip", small)):
    m = aware(CellSpace().parse(text))
    print(f"{name:<24} {m['accuracy']:>11.3f} {m['int8_accuracy']:>10.3f} {m['generalisation']:>+6.3f} "
          f"{m['params']:>8,} {m['objective']:>6.3f}")

# %% [markdown]
# Both lose little or nothing to int8 at this size (a change of 0.01 is a few of the 360 validation
# images), and the teacher's cell wins on every term but C. Now the search the heading promises: with
# `metric="int8_accuracy"` the search ranks candidates by their accuracy *after* int8. Six random
# cells keep it quick; a real search would use evolution and a larger budget.

# %%
aware_search = Search(CellSpace(), "random", aware, budget=6, seed=0, metric="int8_accuracy")
aware_search.run()
for t in sorted((t for t in aware_search.trials if t.ok), key=lambda t: -t.metrics["int8_accuracy"]):
    print(f"int8 {t.metrics['int8_accuracy']:.3f}  float32 {t.metrics['accuracy']:.3f}  {t.arch}")
print("chosen for deployment:", aware_search.best.arch)

# %% [markdown]
# The list is sorted by accuracy after int8, the metric the search was given. Note what 2 epochs do
# to the ranking: the table's best cell scored about 0.66 above, below cells that merely learn
# faster. A short recipe ranks by how fast a cell learns, not by how good it becomes; when the choice
# matters, score candidates with the recipe you will deploy with (notebook 12 is about this trade
# between cheap and faithful evaluations). The int8 column is the one to watch for compression: a
# cell whose int8 accuracy falls well below its float32 one would drop in this ranking.

# %% [markdown]
# ## Exercises
#
# Replace each `...` with your answer and run the cell below it: it says "correct" or "not yet" with
# a hint, without showing the answer.

# %%
from nasnb.grading import check

# %% [markdown]
# **8.1** How many times fewer *tensor* bytes does the int8 model need than the baseline
# (2 decimals)? Compute it from `int8.tensor_bytes` and `baseline.tensor_bytes`.

# %% [answer 8.1]
q81 = ...  # a number
### BEGIN SOLUTION
q81 = baseline.tensor_bytes / int8.tensor_bytes
### END SOLUTION

# %% [check 8.1]
check(
    "8.1",
    q81,
    expect=3.87,
    decimals=2,
    hint="a ratio above 1; an int8 number takes 1 byte and a float32 one 4, so expect a little under 4",
)

# %% [markdown]
# **8.2** Structured pruning removed half of each group's channels. What share of the baseline's
# parameters does the pruned network keep (`pruned.params / baseline.params`, 2 decimals)? Why is it
# less than one half?

# %% [answer 8.2]
q82 = ...  # a number
### BEGIN SOLUTION
q82 = pruned.params / baseline.params
### END SOLUTION

# %% [check 8.2]
check(
    "8.2",
    q82,
    expect=0.26,
    decimals=2,
    hint="pruned.params / baseline.params; a 3x3 convolution loses channels on its input and its output side",
)

# %% [markdown]
# **8.3** Compute the distillation loss by hand for one image with two classes: student logits
# `[0, 0]`, teacher logits `[2, 0]`, true label 0, temperature T = 2 and α = 0.5 (4 decimals). Soften
# both with T, take the KL divergence teacher ‖ student, multiply by T², weight it by α and add
# (1 − α) times the student's cross-entropy with the label. Check your number with nasnb's own loss
# (imported above from `nasnb.compress`): `hinton_loss(student_logits, teacher_logits, labels,
# temperature, alpha)` takes logits as tensors of shape (images, classes), e.g.
# `torch.tensor([[0.0, 0.0]])`, and labels as a tensor of class numbers, `torch.tensor([0])`.

# %% [answer 8.3]
q83 = ...  # a number
### BEGIN SOLUTION
p_teacher = torch.softmax(torch.tensor([2.0, 0.0]) / 2, dim=0)
p_student = torch.tensor([0.5, 0.5])
kl = (p_teacher * (p_teacher / p_student).log()).sum()
q83 = float(0.5 * 2**2 * kl + 0.5 * -torch.log(p_student[0]))
### END SOLUTION

# %% [check 8.3]
check(
    "8.3",
    q83,
    expect=0.5685,
    decimals=4,
    hint="divide both logits by T before the softmax; the cross-entropy uses the student's logits without T",
)

# %% [markdown]
# **Try it yourself**: prune 75 % of the channels (`ratio=0.75`); fine-tune longer; distil into a
# *different* small cell (`student = build_model(CellSpace().parse("..."), ...)`).
