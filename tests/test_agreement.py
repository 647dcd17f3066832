"""Spearman agreement between methods, checked against values computed by hand."""

from __future__ import annotations

import math

import pytest

from reportgen.faithfulness.agreement import average_ranks, rank_agreement, spearman


def test_average_ranks_share_ties():
    assert average_ranks([10.0, 30.0, 20.0, 30.0]).tolist() == [0.0, 2.5, 1.0, 2.5]


def test_spearman_by_hand():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks a = 0,1,2,3; b = 1,0,3,2 → d² = 1+1+1+1 = 4 → ρ = 1 − 6·4 / (4·15) = 0.6
    assert spearman([1, 2, 3, 4], [2, 1, 4, 3]) == pytest.approx(0.6)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))  # a constant ranking has no order
    assert math.isnan(spearman([1], [2]))


def test_matrix_is_symmetric_with_ones_on_the_diagonal():
    matrix = rank_agreement([[1, 2, 3], [3, 2, 1], [1, 3, 2]])
    assert [matrix[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert matrix[0][1] == matrix[1][0] == pytest.approx(-1.0)
    assert matrix[0][2] == pytest.approx(0.5)
