import pytest
import torch

from descent.runtime.device import choose_device, device_name


def test_auto_without_cuda_is_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device("auto") == torch.device("cpu")


def test_cuda_requested_without_cuda_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device("cuda") == torch.device("cpu")
    assert choose_device("cuda:1") == torch.device("cpu")


def test_auto_with_cuda_is_cuda0(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device("auto") == torch.device("cuda:0")
    assert device_name(choose_device("auto")) == "cuda:0"


def test_cpu_forced_and_bad_setting() -> None:
    assert choose_device("CPU") == torch.device("cpu")
    with pytest.raises(ValueError, match="allowed auto, cpu"):
        choose_device("tpu")
