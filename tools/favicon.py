"""The service's icon, drawn from one description into ``emoaugnet/serve/static/favicon.svg`` (what the page
links) and ``favicon.ico`` (16, 32 and 48 px, for clients that ask ``/favicon.ico``): the page's blue, a
rounded square, five white bars of a sound wave.

    python tools/favicon.py          # rewrites both files (Pillow draws the ICO)
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "emoaugnet" / "serve" / "static"
BLUE, WHITE = "#1f5fa8", "#ffffff"
#: on a 64 x 64 grid: the square's corner radius; each bar's centre x and height (centred on y = 32)
RADIUS, BAR_WIDTH = 12, 6
BARS = ((14, 16), (23, 30), (32, 44), (41, 26), (50, 12))


def svg() -> str:
    bars = "".join(f'<rect x="{x - BAR_WIDTH // 2}" y="{32 - h // 2}" width="{BAR_WIDTH}" height="{h}" rx="3"/>'
                   for x, h in BARS)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
            f'<rect width="64" height="64" rx="{RADIUS}" fill="{BLUE}"/><g fill="{WHITE}">{bars}</g></svg>\n')


def ico(path: Path) -> None:
    from PIL import Image, ImageDraw
    scale = 4                                       # drawn at 256 px, scaled down smoothly
    image = Image.new("RGBA", (64 * scale, 64 * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 64 * scale - 1, 64 * scale - 1), RADIUS * scale, fill=BLUE)
    for x, h in BARS:
        draw.rounded_rectangle(((x - BAR_WIDTH / 2) * scale, (32 - h / 2) * scale,
                                (x + BAR_WIDTH / 2) * scale - 1, (32 + h / 2) * scale - 1), 3 * scale, fill=WHITE)
    image.save(path, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])


def main() -> None:
    (STATIC / "favicon.svg").write_text(svg())
    ico(STATIC / "favicon.ico")
    print(f"wrote {STATIC / 'favicon.svg'} and {STATIC / 'favicon.ico'}")


if __name__ == "__main__":
    main()
