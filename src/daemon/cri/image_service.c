/* daemon/cri/image_service.c — runtime.v1.ImageService over the local store and the registry
 * client. */
#include "cri_service.h"

int cri_image_start(struct servin_error *err)
{
    return 0;
}

const struct cri_method cri_image_methods[] = {
    CRI_METHOD(ImageService, ListImages, NULL, "list"),
    CRI_METHOD(ImageService, StreamImages, NULL, NULL),
    CRI_METHOD(ImageService, ImageStatus, NULL, "status"),
    CRI_METHOD(ImageService, PullImage, NULL, "pull"),
    CRI_METHOD(ImageService, RemoveImage, NULL, "remove"),
    CRI_METHOD(ImageService, ImageFsInfo, NULL, "fsinfo"),
    {NULL},
};
