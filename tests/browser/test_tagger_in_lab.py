"""The Tagger in JupyterLab, driven with the keyboard and the mouse in Chromium.

No model is trained: the project is new, so the Tagger walks its first frames.  The test reads
the answers back from the project file with a second connection (only what was committed).
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import time

import pytest
from jupyter_driver import ARTIFACTS, NOTEBOOK, Lab, open_notebook, run_cells, write_notebook

from microlab.datasets import demo_tag_clip
from microlab.store import Store
from microlab.tagging import TagClip, TagProject


@pytest.fixture(scope="module")
def tag_clip(lab: Lab) -> TagClip:
    """A short demo tag clip inside the served folder."""
    return demo_tag_clip(lab.root / "tagclip", n_frames=120)


def status_text(page) -> str:
    return page.locator(f"{NOTEBOOK} .microlab-status").first.inner_text()


def wait_status(page, pattern: str, *, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = status_text(page)
        if re.search(pattern, text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"status never matched {pattern!r}; last: {text!r}")


def tag_log(path) -> list[tuple[int, str, tuple[int, ...], int]]:
    with Store.open(path) as store:
        return [(r.frame, r.kind, r.classes, r.cost) for r in store.tag_log()]


def keys_focused(page) -> bool:
    return page.evaluate("() => !!document.activeElement && "
                         "document.activeElement.classList.contains('microlab-keys')")


def test_tagger_key_press_tags_the_frame(lab: Lab, page, tag_clip: TagClip) -> None:
    path = lab.root / "tagger.mlab"
    for leftover in lab.root.glob("tagger.mlab*"):
        leftover.unlink()
    TagProject.open(path, video=tag_clip.frames.path, classes=list(tag_clip.classes)).close()
    write_notebook(lab.root / "tagger.ipynb", [(
        "import microlab as ml\nproject = ml.TagProject.open('tagger.mlab')\n"
        "tagger = ml.Tagger(project)\ntagger"
    )])
    open_notebook(page, lab, "tagger.ipynb")
    run_cells(page, 1)
    widget = page.locator(f"{NOTEBOOK} .microlab-tagger").first
    surface = widget.locator(".microlab-keys")
    surface.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('.microlab-keys img');"
        " return i && i.complete && i.naturalWidth > 0; }")
    assert widget.locator(".microlab-filmstrip img").count() == 9
    time.sleep(1.0)  # thumbnails arrive; and a person looks before answering (the debounce)
    surface.scroll_into_view_if_needed()
    widget.screenshot(path=str(ARTIFACTS / "browser_tagger_shown.png"))
    box = surface.locator("img").bounding_box()
    assert box["width"] > 300, box  # the frame (320x192) shown at a readable size
    assert box["height"] > 150, box
    # Shown, it takes the keyboard; a person who clicked elsewhere clicks the frame.
    focused_on_show = keys_focused(page)
    if not focused_on_show:
        surface.click()
    assert keys_focused(page)

    header = widget.inner_text()
    shown = int(re.search(r"clip frame (\d+) of 120", header).group(1))
    page.keyboard.press("2")
    text = wait_status(page, rf"Saved frame {shown}: beach \(1 action\)")
    assert tag_log(path) == [(shown, "tag", (1,), 1)]
    # The digit did not reach JupyterLab's shortcuts (command-mode "2" makes a heading).
    assert "jp-CodeCell" in (page.locator(f"{NOTEBOOK} .jp-Cell").first
                             .get_attribute("class") or "")
    time.sleep(0.5)
    widget.screenshot(path=str(ARTIFACTS / "browser_tagger_saved.png"))

    # Click a class button, then Enter: Enter accepts (no machine tag yet: an error in the
    # status line) and must not press the button again.
    header = widget.inner_text()
    second = int(re.search(r"clip frame (\d+) of 120", header).group(1))
    assert second != shown
    time.sleep(1.0)
    widget.get_by_role("button", name="1 meadow").click()
    wait_status(page, rf"Saved frame {second}: meadow \(1 action\)")
    assert keys_focused(page)  # the button did not keep the keyboard
    time.sleep(1.0)
    page.keyboard.press("Enter")
    text = wait_status(page, r"StateError: frame \d+ has no machine tag to accept yet")
    assert tag_log(path) == [(shown, "tag", (1,), 1), (second, "tag", (0,), 1)]
    # Right: the next frame of the list, nothing recorded.
    third = int(re.search(r"clip frame (\d+) of 120", widget.inner_text()).group(1))
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "n => !document.querySelector('.microlab-tagger').innerText"
        ".includes(`clip frame ${n} of 120`)", arg=third)
    assert "frame 4 of 5" in widget.inner_text()
    assert len(tag_log(path)) == 2
    time.sleep(0.5)
    widget.screenshot(path=str(ARTIFACTS / "browser_tagger_after_enter.png"))
    assert text  # the status line said why Enter did nothing
    print(f"focused on show: {focused_on_show}")


def test_review_enter_accepts_and_the_dashboard_draws(lab: Lab, page, tag_clip: TagClip) -> None:
    from fakes import nearest_colour_trainer

    path = lab.root / "tagreview.mlab"
    for leftover in lab.root.glob("tagreview.mlab*"):
        leftover.unlink()
    with TagProject.open(path, video=tag_clip.frames.path, classes=list(tag_clip.classes),
                         trainer=nearest_colour_trainer) as project:
        for f in project.initial_frames():
            project.tag(f, int(tag_clip.tags[f]))
        project.step(progress=False)
        queue = [item.frame for item in project.review_queue()]
        machine = project.prediction()["tags"]
    write_notebook(lab.root / "tagreview.ipynb", [
        ("import microlab as ml\nproject = ml.TagProject.open('tagreview.mlab')\n"
         "tagger = ml.Tagger(project)\ntagger"),
        ("truth = ml.tagging.load_tag_clip('tagclip').tags\n"
         "ml.TagDashboard(project, truth=truth)"),
    ])
    open_notebook(page, lab, "tagreview.ipynb")
    run_cells(page, 1)
    widget = page.locator(f"{NOTEBOOK} .microlab-tagger").first
    widget.locator(".microlab-keys img").wait_for()
    first = queue[0]
    assert f"clip frame {first} of 120" in widget.inner_text()
    name = tag_clip.classes[int(machine[first])]
    assert f"Machine tag: {name}" in widget.inner_text()
    time.sleep(1.0)
    widget.screenshot(path=str(ARTIFACTS / "browser_tagger_review.png"))
    widget.locator(".microlab-keys").click()
    page.keyboard.press("Enter")
    wait_status(page, rf"Saved frame {first}: {name} \(accepted, 0 actions\)")
    log = tag_log(path)
    assert log[-1] == (first, "accept", (int(machine[first]),), 0)
    assert sum(cost for *_, cost in log) == 5  # the five first tags; the accept cost nothing

    run_cells(page, 1, first=1)
    dashboard = page.locator(f"{NOTEBOOK} .microlab-widget", has_text="Tag dashboard").first
    canvas = dashboard.locator(".microlab-figure canvas").first
    canvas.wait_for()
    canvas.scroll_into_view_if_needed()
    time.sleep(1.0)
    assert "measured" in dashboard.inner_text()
    rect = canvas.bounding_box()
    assert rect["width"] > 500, rect
    colours = canvas.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                  const seen = new Set();
                  for (let i = 0; i < d.length; i += 4 * 7)
                      seen.add(d[i] << 16 | d[i+1] << 8 | d[i+2]);
                  return seen.size; }""")
    assert colours > 20, colours  # drawn, not blank
    dashboard.screenshot(path=str(ARTIFACTS / "browser_tag_dashboard.png"))
