"""The checks of the exercises that ask for code (`exercises`): the student's function is run on
the inputs and weights of one of the library's own blocks, and its output compared with the
library's. Each check returns (right, why not), and says what failed instead of raising, so that
a half-written answer never stops the notebook.
"""

from __future__ import annotations

from ..model import network as M

__all__ = ["se_reference", "verify_se", "cam_reference", "verify_cam"]


def se_reference(x, w1, b1, w2, b2):
    """The library's block, given these weights: what the student's function must compute."""
    import torch

    block = M.SqueezeExcitation(w1.shape[1], w1.shape[0]).eval()
    with torch.no_grad():
        for layer, (w, b) in ((block.fc1, (w1, b1)), (block.fc2, (w2, b2))):
            layer.weight.copy_(w.reshape(layer.weight.shape))
            layer.bias.copy_(b)
        return block(x)


def verify_se(student_function) -> tuple[bool, str]:
    """The student's function, given a library block's weights, must give that block's output."""
    import torch

    channels, squeeze = 16, 4
    torch.manual_seed(0)
    block = M.SqueezeExcitation(channels, squeeze)
    weights = (
        block.fc1.weight.detach().reshape(squeeze, channels),
        block.fc1.bias.detach(),
        block.fc2.weight.detach().reshape(channels, squeeze),
        block.fc2.bias.detach(),
    )
    x = torch.randn(2, channels, 5, 5)
    want = se_reference(x, *weights)
    try:
        with torch.no_grad():
            got = torch.as_tensor(student_function(x.clone(), *(w.clone() for w in weights)))
    except Exception as error:  # the student's code: say what failed instead of stopping the notebook
        return False, f"running it raised {type(error).__name__}: {error}"
    if tuple(got.shape) != tuple(want.shape):
        return False, f"it returns shape {tuple(got.shape)}; the block returns its input's {tuple(want.shape)}"
    gap = float((got.float() - want).abs().max())
    return gap < 1e-5, f"with the library's weights its output differs by up to {gap:.3g}"


def verify_cam(student_function) -> tuple[bool, str]:
    """The student's map from activations and gradients must equal the library's, including the
    all-negative case (where nothing pushes the class, the map is zero, not a division by zero)."""
    import torch

    from ..evaluation.gradcam import cam_from

    torch.manual_seed(0)
    cases = [
        (torch.randn(8, 5, 5), torch.randn(8, 5, 5)),
        (torch.rand(8, 4, 4), -torch.rand(8, 4, 4)),
    ]  # every channel pulls against the class
    for activations, gradients in cases:
        try:
            got = torch.as_tensor(student_function(activations.clone(), gradients.clone()), dtype=torch.float32)
        except Exception as error:
            return False, f"running it raised {type(error).__name__}: {error}"
        want = cam_from(activations, gradients)
        if tuple(got.shape) != tuple(want.shape):
            return False, f"it returns shape {tuple(got.shape)}; the map has the layer's {tuple(want.shape)}"
        if not torch.allclose(got, want, atol=1e-5):
            return False, f"its map differs from the library's by up to {float((got - want).abs().max()):.3g}"
    return True, ""


def cam_reference(activations, gradients):
    """The library's Grad-CAM map on the layer's grid (`gradcam.cam_from`): exercise 05.3's answer."""
    from ..evaluation.gradcam import cam_from

    return cam_from(activations, gradients)
