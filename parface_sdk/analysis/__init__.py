"""Head pose, facial-asymmetry measures and their time series, for facial palsy assessment.

Numpy only (matplotlib is imported lazily by :mod:`.report`). Typical use::

    from parface_sdk.analysis import measure_face
    measures = measure_face(result.faces[0].landmarks)      # pose-normalised, inter-canthal units
    measures.sides["mouth_corner_height"].ratio

    decision = decide_asymmetry(measure_sequence(landmarks, times), tasks)   # calibrated; not a diagnosis
"""

from parface_sdk.analysis.asymmetry import (
    MIDLINE_POINTS,
    SCALAR_MEASURES,
    SIDE_MEASURES,
    FaceMeasures,
    SideMeasure,
    intercanthal_distance,
    measure_face,
    measure_head,
)
from parface_sdk.analysis.decision import (
    AsymmetryDecision,
    Calibration,
    CalibrationError,
    change_statistics,
    decide_asymmetry,
)
from parface_sdk.analysis.mirror import MIRROR_PERM, REGIONS, mirror, mirror_asymmetry
from parface_sdk.analysis.timeseries import (
    AffectedSideGuess,
    MeasureSeries,
    Task,
    guess_affected_side,
    measure_sequence,
    task_movements,
)
from parface_sdk.canonical import canonical_face
from parface_sdk.pose import (
    RIGID_POINTS,
    HeadPose,
    estimate_pose,
    euler_from_rotation,
    normalize_pose,
    rotation_from_euler,
    umeyama,
)

__all__ = [
    "MIDLINE_POINTS",
    "MIRROR_PERM",
    "REGIONS",
    "RIGID_POINTS",
    "SCALAR_MEASURES",
    "SIDE_MEASURES",
    "AffectedSideGuess",
    "AsymmetryDecision",
    "Calibration",
    "CalibrationError",
    "FaceMeasures",
    "HeadPose",
    "MeasureSeries",
    "SideMeasure",
    "Task",
    "canonical_face",
    "change_statistics",
    "decide_asymmetry",
    "estimate_pose",
    "euler_from_rotation",
    "guess_affected_side",
    "intercanthal_distance",
    "measure_face",
    "measure_head",
    "measure_sequence",
    "mirror",
    "mirror_asymmetry",
    "normalize_pose",
    "rotation_from_euler",
    "task_movements",
    "umeyama",
]
