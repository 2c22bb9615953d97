// Hand-marked pedestrians on 15 frames of opencv-doc's vtest.avi (768x576, fixed camera, people walking), the
// ground truth for the people analyzer's recall and precision (people_test.cpp, analyzer_bench --accuracy).
//
// How they were marked: frames 50, 100, ..., 750 were drawn enlarged 1.5x with a 50-pixel ruler; MOG2
// foreground blobs from the whole clip (learnt from frame 0) were overlaid as proposals. Each person was
// then checked by eye: a blob that was one whole person was kept, merged blobs (pairs walking together, a
// person passing another) were split by eye, partial blobs (people standing still) were redrawn head to
// feet, and people the background model missed (standing still) were added. Boxes are tight, in pixels
// (x0, y0, x1, y1), about ±3 pixels. Frames 50 and 150 are the boxes people_test.cpp always used.
//
// `people`: every person at least 60 pixels tall (HOG's 64x128 window holds a ~96-pixel person, so
// 60 pixels is already well below what the detector sees at the frame's own size) and at most about a
// third hidden. `ignore`: people smaller than that, or mostly hidden (behind the sign post, behind
// another person); a detection on one counts neither as a hit nor as a false alarm, as in the Caltech
// pedestrian benchmark's "ignore" regions.
#ifndef AVA_TESTS_ANALYZERS_PEOPLE_TRUTH_H
#define AVA_TESTS_ANALYZERS_PEOPLE_TRUTH_H

#include "plugin_harness.h"

#include <vector>

namespace ava::test {

struct PeopleTruth {
    int frame;
    std::vector<cv::Rect2f> people; // normalised
    std::vector<cv::Rect2f> ignore; // normalised
};

inline cv::Rect2f vtest_px(float x0, float y0, float x1, float y1) { return unit_box(x0, y0, x1, y1, 768, 576); }

inline const std::vector<PeopleTruth>& vtest_people()
{
    static const std::vector<PeopleTruth> truth{
        {50,
         {vtest_px(372, 180, 400, 258), vtest_px(410, 181, 430, 262), vtest_px(432, 175, 458, 246),
          vtest_px(505, 216, 541, 310), vtest_px(552, 214, 588, 303), vtest_px(667, 257, 714, 370)},
         {}},
        {100,
         {vtest_px(350, 200, 377, 272), vtest_px(379, 180, 408, 257), vtest_px(430, 183, 450, 257),
          vtest_px(490, 150, 513, 220), vtest_px(517, 152, 540, 219), vtest_px(591, 155, 617, 233)},
         {vtest_px(222, 61, 237, 95)}},
        {150,
         {vtest_px(387, 195, 418, 279), vtest_px(432, 194, 465, 275), vtest_px(445, 180, 472, 252),
          vtest_px(590, 227, 626, 315)},
         {vtest_px(636, 107, 679, 167), vtest_px(714, 110, 726, 176), vtest_px(69, 91, 88, 128)}},
        {200,
         {vtest_px(617, 265, 650, 369), vtest_px(704, 254, 745, 354), vtest_px(214, 192, 251, 267),
          vtest_px(83, 153, 115, 221), vtest_px(488, 144, 517, 223)},
         {vtest_px(676, 98, 698, 153), vtest_px(700, 100, 721, 153)}},
        {250,
         {vtest_px(39, 179, 62, 245), vtest_px(194, 151, 223, 226), vtest_px(373, 231, 420, 327),
          vtest_px(547, 190, 577, 266), vtest_px(595, 255, 641, 354), vtest_px(632, 121, 655, 186),
          vtest_px(657, 124, 677, 186)},
         {}},
        {300,
         {vtest_px(186, 159, 218, 235), vtest_px(241, 159, 269, 220), vtest_px(298, 167, 322, 230),
          vtest_px(315, 210, 344, 295), vtest_px(581, 160, 614, 234), vtest_px(620, 161, 643, 229)},
         {}},
        {350,
         {vtest_px(386, 210, 419, 319), vtest_px(472, 187, 510, 277), vtest_px(673, 223, 700, 318),
          vtest_px(697, 225, 727, 315)},
         {vtest_px(384, 178, 402, 240), vtest_px(430, 170, 443, 243)}},
        {400, {vtest_px(274, 201, 302, 286), vtest_px(590, 141, 617, 202), vtest_px(687, 301, 744, 411)}, {}},
        {450, {vtest_px(312, 207, 336, 289), vtest_px(486, 184, 515, 259), vtest_px(559, 243, 594, 337)}, {}},
        {500,
         {vtest_px(305, 188, 335, 264), vtest_px(557, 240, 593, 347), vtest_px(571, 281, 611, 391),
          vtest_px(615, 273, 640, 373)},
         {}},
        {550,
         {vtest_px(125, 167, 155, 232), vtest_px(594, 167, 630, 243), vtest_px(643, 304, 669, 412),
          vtest_px(168, 368, 227, 520), vtest_px(234, 372, 289, 511)},
         {vtest_px(412, 168, 439, 203)}},
        {600,
         {vtest_px(190, 144, 216, 214), vtest_px(570, 200, 596, 288), vtest_px(670, 209, 712, 297),
          vtest_px(455, 303, 508, 420), vtest_px(642, 305, 670, 411), vtest_px(281, 431, 331, 576)},
         {}},
        {650,
         {vtest_px(142, 147, 165, 220), vtest_px(222, 156, 240, 222), vtest_px(317, 158, 348, 227),
          vtest_px(469, 226, 501, 314), vtest_px(638, 194, 671, 274), vtest_px(332, 371, 382, 516)},
         {}},
        {700,
         {vtest_px(185, 167, 209, 240), vtest_px(279, 210, 309, 294), vtest_px(366, 182, 397, 255),
          vtest_px(474, 136, 496, 200), vtest_px(520, 167, 546, 235), vtest_px(685, 218, 728, 307),
          vtest_px(101, 286, 144, 397)},
         {vtest_px(408, 153, 425, 205), vtest_px(732, 40, 750, 75)}},
        {750,
         {vtest_px(182, 202, 222, 283), vtest_px(236, 216, 274, 304), vtest_px(370, 181, 401, 259),
          vtest_px(399, 212, 427, 301), vtest_px(509, 176, 535, 250), vtest_px(636, 216, 677, 320)},
         {vtest_px(662, 117, 688, 175), vtest_px(732, 54, 768, 98)}},
    };
    return truth;
}

// Hits and false alarms of one frame's detections. A detection matches a person at IoU >= 0.3 (HOG boxes,
// even tightened, are ~1.5x wider than a tight hand-drawn box: a correct hit scores 0.4-0.6, a box on a
// neighbour 30 pixels away below 0.2), each person at most once, best-scoring detections first; a detection
// that matches no person but overlaps an ignore box (IoU >= 0.3, or mostly inside it) counts for nothing.
struct PeopleScore {
    std::size_t people = 0;
    std::size_t hits = 0;
    std::size_t false_alarms = 0;
    PeopleScore& operator+=(const PeopleScore& o)
    {
        people += o.people;
        hits += o.hits;
        false_alarms += o.false_alarms;
        return *this;
    }
    double recall() const { return people != 0 ? static_cast<double>(hits) / static_cast<double>(people) : 0.0; }
    double precision() const
    {
        return hits + false_alarms != 0 ? static_cast<double>(hits) / static_cast<double>(hits + false_alarms) : 1.0;
    }
};

inline PeopleScore score_people(const PeopleTruth& truth, std::vector<cv::Rect2f> found)
{
    PeopleScore s;
    s.people = truth.people.size();
    std::vector<bool> taken(truth.people.size(), false);
    for (const auto& box : found) {
        int best = -1;
        float best_iou = 0.3F;
        for (std::size_t t = 0; t < truth.people.size(); ++t) {
            if (const float v = iou(box, truth.people[t]); !taken[t] && v >= best_iou) {
                best = static_cast<int>(t);
                best_iou = v;
            }
        }
        if (best >= 0) {
            taken[static_cast<std::size_t>(best)] = true;
            ++s.hits;
            continue;
        }
        bool ignored = false;
        for (const auto& g : truth.ignore) {
            ignored = ignored || iou(box, g) >= 0.3F || (box & g).area() >= 0.5F * g.area();
        }
        if (!ignored) {
            ++s.false_alarms;
        }
    }
    return s;
}

} // namespace ava::test

#endif
