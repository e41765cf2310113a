"""The scene around the body: the project's pinhole camera made exact in Blender, light, floor, walls.

Camera: `training.data.cameras.Camera` (OpenCV axes, X_cam = R·X_world + t, square pixels) is
reproduced with sensor fit HORIZONTAL (so the focal length in pixels is lens / sensor_width · W)
and the principal point as a lens shift, which Blender measures in units of the image width
under that fit. Pixel coordinates are the project's: u from the left edge of the image, v from
its top edge, in pixels (the pixel (i, j) covers [i, i+1) × [j, j+1)), as MediaPipe reports them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from training.data.cameras import Camera
from training.render.body import TO_BLENDER, plain_material

SENSOR_WIDTH_MM = 36.0
ENGINES = {"workbench": "BLENDER_WORKBENCH", "cycles": "CYCLES"}
STUDIO_LIGHTS = ("Default", "basic.sl", "outdoor.sl", "paint.sl", "rim.sl", "studio.sl")


def camera_world_matrix(camera: Camera) -> np.ndarray:
    """Blender camera object's 4×4 world matrix: its local x right, y up, looking down -z."""
    axes = camera.rotation.T @ np.diag([1.0, -1.0, -1.0])  # OpenCV → Blender camera axes
    matrix = np.eye(4)
    matrix[:3, :3] = TO_BLENDER @ axes
    matrix[:3, 3] = TO_BLENDER @ camera.position
    return matrix


def add_camera(camera: Camera, name: str = "camera"):
    """A Blender camera that projects exactly as `camera` does; made the scene's camera."""
    import bpy
    from mathutils import Matrix

    if abs(camera.focal[0] - camera.focal[1]) > 1e-6 * camera.focal[0]:
        raise ValueError("Blender cameras have square pixels here; fx must equal fy")
    data = bpy.data.cameras.new(name)
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = SENSOR_WIDTH_MM
    data.lens = camera.focal[0] * SENSOR_WIDTH_MM / camera.width
    data.shift_x = (camera.width / 2 - camera.principal[0]) / camera.width
    data.shift_y = (camera.principal[1] - camera.height / 2) / camera.width
    data.clip_start, data.clip_end = 0.05, 500.0
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    obj.matrix_world = Matrix(camera_world_matrix(camera).tolist())
    scene = bpy.context.scene
    scene.camera = obj
    scene.render.resolution_x, scene.render.resolution_y = camera.width, camera.height
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    return obj


def blender_pixels(points_world: np.ndarray) -> np.ndarray:
    """Where the scene's Blender camera puts project-world points (…, 3), in pixels (u, v)."""
    import bpy
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    scene = bpy.context.scene
    width, height = scene.render.resolution_x, scene.render.resolution_y
    flat = np.asarray(points_world, dtype=np.float64).reshape(-1, 3) @ TO_BLENDER.T
    out = np.empty((len(flat), 2))
    for i, p in enumerate(flat):
        ndc = world_to_camera_view(scene, scene.camera, Vector(p.tolist()))
        out[i] = (ndc.x * width, (1.0 - ndc.y) * height)
    return out.reshape(np.shape(points_world)[:-1] + (2,))


@dataclass
class Look:
    """The drawn look of a scene, written to meta.json."""

    studio_light: str
    light_rotation_deg: float
    shadows: bool
    sun_elevation_deg: float
    sun_azimuth_deg: float
    sun_strength: float
    background: tuple[float, float, float]
    floor: tuple[float, float, float]
    floor_checker: tuple[float, float, float] | None
    tile_m: float
    wall: tuple[float, float, float] | None
    wall_distance_m: float


def sample_look(rng: np.random.Generator) -> Look:
    """Lights and surroundings: indoor-ish floors and walls, outdoor-ish skies, any colours."""
    floor = tuple(float(c) for c in rng.uniform(0.1, 0.8, size=3))
    checker = tuple(float(c) for c in rng.uniform(0.1, 0.8, size=3)) if rng.random() < 0.4 else None
    wall = tuple(float(c) for c in rng.uniform(0.2, 0.95, size=3)) if rng.random() < 0.5 else None
    return Look(
        studio_light=str(rng.choice(STUDIO_LIGHTS)),
        light_rotation_deg=float(rng.uniform(-180, 180)),
        shadows=bool(rng.random() < 0.5) and wall is None,  # a wall shows shadow acne
        sun_elevation_deg=float(rng.uniform(25, 75)),
        sun_azimuth_deg=float(rng.uniform(0, 360)),
        sun_strength=float(rng.uniform(2.0, 5.0)),
        background=tuple(float(c) for c in rng.uniform(0.15, 0.95, size=3)),
        floor=floor,
        floor_checker=checker,
        tile_m=float(rng.uniform(0.3, 1.2)),
        wall=wall,
        wall_distance_m=float(rng.uniform(1.5, 5.0)),
    )


def build_scene(look: Look, camera: Camera, subject_centre: np.ndarray, engine: str) -> None:
    """Engine settings, world colour, lights, a floor at y = 0 and maybe a wall behind the subject."""
    import bpy

    scene = bpy.context.scene
    scene.render.engine = ENGINES[engine]
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.compression = 15
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"  # colours as picked, no filmic tone curve
    world = bpy.data.worlds.new("world")
    scene.world = world
    world.color = look.background
    if engine == "workbench":
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.studio_light = look.studio_light
        shading.studiolight_rotate_z = np.radians(look.light_rotation_deg)
        shading.color_type = "MATERIAL"
        shading.show_shadows = look.shadows
        shading.show_specular_highlight = False
        scene.display.render_aa = "8"
        scene.display.light_direction = _sun_direction(look)
    else:
        scene.cycles.samples = 32
        scene.cycles.use_denoising = False
        scene.cycles.device = "CPU"
        if world.node_tree is None:
            world.use_nodes = True
        background = world.node_tree.nodes["Background"]
        background.inputs["Color"].default_value = (*look.background, 1.0)
        background.inputs["Strength"].default_value = 1.0
        sun = bpy.data.lights.new("sun", "SUN")
        sun.energy = look.sun_strength
        sun_obj = bpy.data.objects.new("sun", sun)
        scene.collection.objects.link(sun_obj)
        direction = TO_BLENDER @ _sun_direction(look, project=True)
        sun_obj.rotation_euler = _track_to_euler(-direction)
    _add_floor(look, subject_centre)
    if look.wall is not None:
        _add_wall(look, camera, subject_centre)


def _sun_direction(look: Look, project: bool = False) -> tuple[float, float, float] | np.ndarray:
    """Unit vector towards the sun (project world when project=True, else Workbench's frame)."""
    elevation, azimuth = np.radians(look.sun_elevation_deg), np.radians(look.sun_azimuth_deg)
    towards = np.array(
        [
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
            np.cos(elevation) * np.cos(azimuth),
        ]
    )
    if project:
        return towards
    return tuple(float(v) for v in towards)


def _track_to_euler(direction: np.ndarray):
    """Euler angles turning an object's -Z axis (a light's beam) onto `direction` (Blender world)."""
    from mathutils import Vector

    return Vector(direction.tolist()).to_track_quat("-Z", "Y").to_euler()


def _add_floor(look: Look, centre: np.ndarray, size: float = 80.0) -> None:
    """A square floor at y = 0 around the subject, plain or in checker tiles."""
    import bpy

    tiles = max(1, round(size / look.tile_m)) if look.floor_checker is not None else 1
    step = size / tiles
    xs = np.arange(tiles + 1) * step - size / 2
    grid_x, grid_z = np.meshgrid(xs + centre[0], xs + centre[2], indexing="ij")
    vertices = np.stack([grid_x, np.zeros_like(grid_x), grid_z], axis=-1).reshape(-1, 3)
    index = np.arange((tiles + 1) ** 2).reshape(tiles + 1, tiles + 1)
    quads = np.stack(
        [index[:-1, :-1], index[:-1, 1:], index[1:, 1:], index[1:, :-1]], axis=-1
    ).reshape(-1, 4)
    mesh = bpy.data.meshes.new("floor")
    mesh.from_pydata((vertices @ TO_BLENDER.T).tolist(), [], quads.tolist())
    mesh.materials.append(plain_material("floor", look.floor))
    if look.floor_checker is not None:
        mesh.materials.append(plain_material("floor_checker", look.floor_checker))
        i, j = np.meshgrid(np.arange(tiles), np.arange(tiles), indexing="ij")
        mesh.polygons.foreach_set("material_index", ((i + j) % 2).ravel().astype(np.int32))
    mesh.update()
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("floor", mesh))


def _add_wall(look: Look, camera: Camera, centre: np.ndarray) -> None:
    """A tall wall facing the camera, wall_distance_m behind the subject."""
    import bpy

    back = centre - camera.position
    back[1] = 0.0
    back /= max(np.linalg.norm(back), 1e-9)
    across = np.cross([0.0, 1.0, 0.0], back)
    middle = centre + back * look.wall_distance_m
    middle[1] = 0.0
    half, tall = 40.0, 12.0
    corners = [
        middle - across * half,
        middle + across * half,
        middle + across * half + [0, tall, 0],
        middle - across * half + [0, tall, 0],
    ]
    mesh = bpy.data.meshes.new("wall")
    mesh.from_pydata((np.array(corners) @ TO_BLENDER.T).tolist(), [], [[0, 1, 2, 3]])
    mesh.materials.append(plain_material("wall", look.wall))
    mesh.update()
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("wall", mesh))


def look_to_json(look: Look) -> dict:
    return asdict(look)


def render_still(path: str) -> None:
    """Render the scene's camera to a PNG."""
    import bpy

    bpy.context.scene.render.filepath = path
    bpy.ops.render.render(write_still=True)
