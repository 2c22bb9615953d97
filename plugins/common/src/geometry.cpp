#include "ava_common/geometry.hpp"

#include <algorithm>
#include <numeric>

namespace ava::common {

float iou(const cv::Rect2f& a, const cv::Rect2f& b) noexcept
{
    const float inter = (a & b).area();
    const float uni = a.area() + b.area() - inter;
    return uni > 0.0F ? inter / uni : 0.0F;
}

std::vector<std::vector<int>> nms_clusters(const std::vector<cv::Rect2f>& boxes, const std::vector<float>& scores,
                                           float score_threshold, float iou_threshold)
{
    std::vector<int> order;
    for (int i = 0; i < static_cast<int>(boxes.size()) && i < static_cast<int>(scores.size()); ++i) {
        if (scores[i] >= score_threshold && boxes[i].area() > 0.0F) {
            order.push_back(i);
        }
    }
    // Stable, so equal scores keep their input order and results are deterministic.
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });

    std::vector<std::vector<int>> clusters;
    std::vector<bool> taken(boxes.size(), false);
    for (std::size_t n = 0; n < order.size(); ++n) {
        const int leader = order[n];
        if (taken[leader]) {
            continue;
        }
        taken[leader] = true;
        std::vector<int> cluster{leader};
        for (std::size_t m = n + 1; m < order.size(); ++m) {
            const int other = order[m];
            if (!taken[other] && iou(boxes[leader], boxes[other]) > iou_threshold) {
                taken[other] = true;
                cluster.push_back(other);
            }
        }
        clusters.push_back(std::move(cluster));
    }
    return clusters;
}

std::vector<int> nms(const std::vector<cv::Rect2f>& boxes, const std::vector<float>& scores, float score_threshold,
                     float iou_threshold)
{
    std::vector<int> kept;
    for (const auto& cluster : nms_clusters(boxes, scores, score_threshold, iou_threshold)) {
        kept.push_back(cluster.front());
    }
    return kept;
}

std::optional<ava_box> clamp_unit(const cv::Rect2f& unit) noexcept
{
    const float l = std::clamp(unit.x, 0.0F, 1.0F);
    const float t = std::clamp(unit.y, 0.0F, 1.0F);
    const float r = std::clamp(unit.x + unit.width, 0.0F, 1.0F);
    const float b = std::clamp(unit.y + unit.height, 0.0F, 1.0F);
    if (!(r > l && b > t)) { // also false for NaN
        return std::nullopt;
    }
    return ava_box{l, t, r - l, b - t};
}

std::optional<ava_box> normalise(const cv::Rect2f& pixels, cv::Size size) noexcept
{
    if (size.width <= 0 || size.height <= 0) {
        return std::nullopt;
    }
    const auto w = static_cast<float>(size.width);
    const auto h = static_cast<float>(size.height);
    return clamp_unit(cv::Rect2f(pixels.x / w, pixels.y / h, pixels.width / w, pixels.height / h));
}

} // namespace ava::common
