"""Attributions: how much each input feature contributed to one output of a network.

The explained quantity is a scalar per row, ``F(x)``: one output of the network, chosen by
``target`` (a class of a classifier, an output column of a regressor) and by ``output``
(the raw output, i.e. the logit of a classifier, or its probability). Every method here
needs only ``dF/dx``, which backpropagation gives: for the chosen output column ``t``::

    logit        F(x) = s z_t(x)            dF/dz = s e_t          (s = -1 for class 0 of a
                                                                    binary classifier, else 1)
    softmax      F(x) = p_t = softmax(z)_t  dF/dz = p_t (e_t - p)
    sigmoid      F(x) = sigmoid(s z_t)      dF/dz = s F (1 - F) e_t

    dF/dx = net.backward(dF/dz)                                    shape (n_rows, n_features)

The methods (x' is the baseline, a row the explanation is measured against)::

    saliency              dF/dx(x)                 (or |dF/dx| with absolute=True)
    gradient_x_input      x * dF/dx(x)
    integrated_gradients  (x - x') * sum_k w_k dF/dx(x' + a_k (x - x'))
                          the path integral of the gradient from x' to x (Sundararajan et al.
                          2017) by a quadrature rule with nodes a_k in [0, 1], weights w_k
    expected_gradients    mean_k (x - x'_k) * dF/dx(x'_k + a_k (x - x'_k))
                          x'_k drawn from a background set, a_k ~ U(0, 1): integrated
                          gradients averaged over baselines (SHAP's GradientExplainer)
    smoothgrad            mean_k dF/dx(x + e_k),  e_k ~ N(0, sigma^2)  (Smilkov et al. 2017)

Integrated gradients are *complete*: the attributions of a row add up to ``F(x) - F(x')``, up
to the error of the quadrature rule. Each result carries that check as
``delta = sum(attributions) - (F(x) - F(x'))`` (Captum's "convergence delta"). For a linear or
logistic model's logit the gradient is the constant ``s w_t`` and the attributions
``s w_t * (x - x')`` are exact: numnet computes that closed form directly.

An attribution says how the *model* responds to a feature along a path, not that the feature
causes the outcome in the world; correlated features can share or swap credit.
"""

from .methods import (
    Attributions,
    expected_gradients,
    gradient_x_input,
    integrated_gradients,
    permutation_importance,
    quadrature,
    saliency,
    smoothgrad,
)
from .target import OUTPUTS

__all__ = ["OUTPUTS", "Attributions", "expected_gradients", "gradient_x_input",
           "integrated_gradients", "permutation_importance", "quadrature", "saliency",
           "smoothgrad"]
