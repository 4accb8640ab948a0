"""One small trained cell network on digits, shared by the compression and monitoring tests."""

from nasnb import CellSpace
from nasnb.evaluation import Trainer

ARCH = "|conv_3x3~0|+|conv_3x3~0|skip_connect~1|+|avg_pool_3x3~0|conv_1x1~1|conv_3x3~2|"


def trained_cell(channels: int = 8, epochs: int = 4):
    """The ARCH cell trained on digits (SGD, lr 0.1, batch 128), in eval mode on the CPU."""
    trainer = Trainer(epochs=epochs, lr=0.1, batch_size=128, network={"channels": channels}, keep_model=True)
    trainer(CellSpace().parse(ARCH))
    return trainer.last_model_.cpu().eval()
