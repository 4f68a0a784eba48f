# %% [markdown]
# # Views from an extension's `ui_manifest.json`
#
# An extension declares views — a DSL query plus a component (`list_view`, `grid_view`,
# `map_view`, …). `%vdfs view <extension>/<view_id>` runs the query and renders it inline.
# Here the reference **Photos** extension (in `extensions/photos`) finds people and places in a
# few generated photos that carry GPS coordinates in their EXIF data.

# %%
import io, os, tempfile
from pathlib import Path
from PIL import Image

work = Path(tempfile.mkdtemp(prefix="vdfs-views-"))
os.environ["VDFS_HOME"] = str(work / "home")


def photo(lat: float, lon: float, color: tuple) -> bytes:
    """A small JPEG whose EXIF says where it was taken."""
    def dms(v):
        v = abs(v); d = int(v); m = int((v - d) * 60)
        return (d, m, round(((v - d) * 60 - m) * 60, 2))
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 10:20:30"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), dms(lat)
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), dms(lon)
    buf = io.BytesIO()
    Image.new("RGB", (96, 64), color).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


folder = work / "pictures"
(folder / "holidays").mkdir(parents=True)
(folder / "private").mkdir()
(folder / "holidays/oslo_harbour.jpg").write_bytes(photo(59.9139, 10.7522, (220, 40, 40)))
(folder / "holidays/oslo_fjord.jpg").write_bytes(photo(59.92, 10.76, (210, 50, 45)))
(folder / "holidays/rio_beach.jpg").write_bytes(photo(-22.9068, -43.1729, (30, 40, 220)))
(folder / "private/home.jpg").write_bytes(photo(48.8566, 2.3522, (40, 200, 60)))
photos_package = Path("../extensions/photos").resolve()
library_path = work / "views.vdfs"

# %%
%vdfs open :library_path --create

# %%
%vdfs index :folder

# %% [markdown]
# `%vdfs index` waits for its job (with a live progress bar), so the next cell sees every file.
# Where are the bytes? `%vdfs usage` draws a treemap of the folders (hover a cell for its size):

# %%
%vdfs usage :folder

# %% [markdown]
# A result of a key and a number draws as a bar chart with `--plot bar`:

# %%
%%vdfs --plot bar
folders in :folder select name, size order by size desc, name

# %% [markdown]
# ## Install, granting less than asked
#
# `%vdfs install` shows what the extension requests. In JupyterLab you untick permissions and
# pick locations in the dialog; from code, `install(scopes=…)` does the same. Here the extension
# may read only the `holidays` folder: the private photo stays invisible to it.

# %%
dialog = %vdfs install :photos_package
dialog

# %%
dialog.install(scopes={"ReadEntries": [str(folder / "holidays")],
                       "WriteTags": [str(folder / "holidays")]})
dialog

# %%
%vdfs run com.vdfs.photos.analyze_photos --wait

# %% [markdown]
# ## The views
#
# A `map_view` plots the places as SVG (no map tiles, no network):

# %%
%vdfs view com.vdfs.photos/places_map

# %% [markdown]
# A `grid_view` shows thumbnails of the photos behind each person:

# %%
%vdfs view com.vdfs.photos/people_grid

# %% [markdown]
# A `list_view` of albums: empty until an action creates one.

# %%
%vdfs view com.vdfs.photos/albums_list

# %%
panel = %vdfs preview com.vdfs.photos.create_album place="Oslo"
panel.commit()   # the same as clicking Commit
panel

# %%
%vdfs view com.vdfs.photos/albums_list

# %% [markdown]
# The views are queries like any other; the same data is one `%vdfs` away:

# %%
%vdfs models Place select name, lat, lon, photo_count order by name
