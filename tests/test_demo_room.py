"""`make demo` for a room, without a browser: culling and a kernel cap by default (each can be
overridden in DEMO_ARGS), and the preset named by the page's address."""

import types

from nnlab import demo


def fake_lab():
    return types.SimpleNamespace(presets={"broken": ("sigmoid", None), "fixed": ("ReLU", None)},
                                 preset=types.SimpleNamespace(value="broken"))


def test_the_address_chooses_the_preset(capsys):
    lab = fake_lab()
    assert demo.preset_from_url(lab, "preset=fixed") is lab
    assert lab.preset.value == "fixed"
    assert demo.preset_from_url(fake_lab(), "").preset.value == "broken"
    assert capsys.readouterr().out == ""


def test_an_unknown_preset_is_named_with_the_valid_ones(capsys):
    lab = demo.preset_from_url(fake_lab(), "preset=fixd")
    assert lab.preset.value == "broken"
    printed = capsys.readouterr().out
    assert "'fixd'" in printed and "broken, fixed" in printed and "?preset=broken" in printed


def test_room_defaults_unless_demo_args_set_them():
    options = demo.room_options(["--no-browser"])
    assert "--MappingKernelManager.cull_idle_timeout=300" in options
    assert "--CappedKernelManager.max_kernels=40" in options
    assert any("multi_kernel_manager_class=nnlab.demo_kernels.CappedKernelManager" in option
               for option in options)
    mine = demo.room_options(["--MappingKernelManager.cull_idle_timeout=60",
                              "--CappedKernelManager.max_kernels", "5"])
    assert not any("cull_idle_timeout" in option or "max_kernels" in option for option in mine)


def test_every_demo_page_reads_its_preset_from_the_address(tmp_path):
    pages = demo.write_pages(tmp_path / "demo")
    for page in pages[1:]:
        assert "demo.preset_from_url(labs." in page.read_text()
