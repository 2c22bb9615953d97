#pragma once
// What the live view draws: a frame as BGR with its inferences on it (entity boxes with tag and
// confidence, motion regions, classifications and texts as lines of text), encoded as a JPEG.

#include "frames/frame.h"
#include "inferences/inference.h"

#include <opencv2/core/mat.hpp>

#include <string>

namespace ava::live {

// BGR colours of what is drawn (the browser test looks for them).
inline const cv::Scalar entity_colour{0, 255, 0};  // green
inline const cv::Scalar motion_colour{0, 165, 255}; // orange

// A BGR copy of the frame's pixels (grey for formats not worth converting for a preview).
cv::Mat to_bgr(const frames::Frame& frame);
void annotate(cv::Mat& bgr, const inferences::InferenceList& inferences);
// Baseline JPEG (libjpeg, which the host links already; OpenCV's codecs load only on demand).
std::string encode_jpeg(const cv::Mat& bgr, int quality = 75);

} // namespace ava::live
