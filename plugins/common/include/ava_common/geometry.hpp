// Boxes: non-maximum suppression and normalising to the 0..1 boxes of the ABI.
#ifndef AVA_COMMON_GEOMETRY_HPP
#define AVA_COMMON_GEOMETRY_HPP

#include <ava_plugin.h>

#include <opencv2/core.hpp>

#include <optional>
#include <vector>

namespace ava::common {

// Intersection over union of two boxes (0 when either is empty).
float iou(const cv::Rect2f& a, const cv::Rect2f& b) noexcept;

// Greedy non-maximum suppression. Returns clusters, best score first: each cluster's first index is the box
// kept, the others are the boxes it suppressed (IoU above iou_threshold), so a caller may blend them.
// Boxes scoring below score_threshold are dropped first.
std::vector<std::vector<int>> nms_clusters(const std::vector<cv::Rect2f>& boxes, const std::vector<float>& scores,
                                           float score_threshold, float iou_threshold);

// Indices of the boxes kept by nms_clusters, best score first.
std::vector<int> nms(const std::vector<cv::Rect2f>& boxes, const std::vector<float>& scores, float score_threshold,
                     float iou_threshold);

// A box in pixels of an image of `size`, normalised and clamped to 0..1. Empty when nothing of it lies
// inside the image (a detection fully outside is no detection).
std::optional<ava_box> normalise(const cv::Rect2f& pixels, cv::Size size) noexcept;

// A box already in 0..1 units (possibly spilling over the edges), clamped; empty when nothing is left.
std::optional<ava_box> clamp_unit(const cv::Rect2f& unit) noexcept;

} // namespace ava::common

#endif
