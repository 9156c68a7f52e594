"""The CPU meter (remat_torch.memtimeline: PyTorch's memory timeline, the
model's own tensors told apart by storage) against allocations of known
size."""

import unittest

import torch

from remat_torch.memtimeline import profiled_peak, profiled_timeline

torch.set_num_threads(1)


class ProfiledPeakTest(unittest.TestCase):
    def test_known_allocations(self):
        n = 256 * 1024  # 1 MiB of float32

        def step():
            x = torch.ones(n)   # 1 MiB
            y = x * 2           # 1 MiB more: peak 2 MiB
            del x
            return y.sum()      # 4 bytes
        peak = profiled_peak(step)
        self.assertGreaterEqual(peak, 2 * 4 * n)
        self.assertLess(peak, 2 * 4 * n + 1024)

    def test_parameter_gradients_left_out_by_storage(self):
        # A 1024 x 1024 linear layer: its weight gradient (4 MiB) is made
        # by the backward and alive at the end; the activations are 8 KiB
        # (input and output rows). Told the model, the meter leaves the
        # weight and its gradient out: under 64 KiB. Not told, it counts
        # the gradient: at least 4 MiB more.
        torch.manual_seed(0)
        lin = torch.nn.Linear(1024, 1024)
        x = torch.randn(1, 1024)

        def step():
            lin.zero_grad(set_to_none=True)
            lin(x).sum().backward()
        step()
        with_model = profiled_peak(step, lin)
        without = profiled_peak(step)
        self.assertLess(with_model, 64 * 1024)
        self.assertGreaterEqual(without - with_model, 4 * 1024 * 1024)

    def test_sees_a_hidden_allocation(self):
        # Negative control of the meter: keeping one more 1 MiB tensor
        # raises the measured peak by 1 MiB.
        n = 256 * 1024
        kept = []

        def step(hide):
            x = torch.ones(n)
            if hide:
                kept.append(x * 3)
            return (x * 2).sum()
        base = profiled_peak(lambda: step(False))
        more = profiled_peak(lambda: step(True))
        self.assertEqual(more - base, 4 * n)

    def test_leaf_gradient_counted(self):
        # x (1 MiB, a leaf that requires grad), y = sin(x) (1 MiB), then the
        # backward: cos(x) (1 MiB) and x's gradient (1 MiB) while y is
        # alive: peak 4 MiB. The profiler files x's gradient as GRADIENT;
        # the meter counts it, since it is no parameter's.
        n = 256 * 1024
        cats = []

        def step():
            x = torch.ones(n, requires_grad=True)
            y = torch.sin(x)
            y.sum().backward()
            cats.append(x.grad)
            return y
        peak = profiled_peak(step)
        self.assertGreaterEqual(peak, 4 * 4 * n)
        self.assertLess(peak, 4 * 4 * n + 1024)
        self.assertIsNotNone(cats[0])

    def test_timeline_is_relative_to_what_existed(self):
        # A 1 MiB tensor made before the profile and read inside it is in
        # the base; the levels count only what the step makes: 2 MiB (the
        # product), then 2 MiB + 4 bytes (its sum) and back to 2 MiB.
        n = 256 * 1024
        held = torch.ones(n)

        def step():
            y = torch.cat([held, held])
            return y, y.sum()
        tl = profiled_timeline(step, torch.device("cpu"))
        self.assertEqual(tl.base, 4 * n)
        self.assertEqual(tl.levels[0], 8 * n)
        self.assertEqual(max(tl.levels), 8 * n + 4)
        self.assertIsNone(tl.mark)

if __name__ == "__main__":
    unittest.main()
