// Sends the file straight to the presigned URL POST /imports handed out, with progress.
// Two shapes are understood: a presigned POST (`method: "POST"` with form `fields`: every
// field, then the file last as `file`, in multipart/form-data) and a presigned PUT of the
// bytes as they are (`url` and `expiresAt` only, or `method: "PUT"`). XMLHttpRequest,
// because fetch reports no upload progress.

export interface PresignedUpload {
  url: string;
  method?: string;
  fields?: Record<string, string>;
  maxBytes?: number;
  expiresAt: string;
}

export class UploadError extends Error {}

export function uploadFile(
  upload: PresignedUpload,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<void> {
  if (upload.maxBytes !== undefined && file.size > upload.maxBytes) {
    return Promise.reject(
      new UploadError(
        `The file is ${file.size} bytes; at most ${upload.maxBytes} bytes can be imported.`,
      ),
    );
  }
  const post = upload.method?.toUpperCase() === "POST";
  let body: Blob | FormData = file;
  if (post) {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields ?? {})) form.append(name, value);
    form.append("file", file);
    body = form;
  }
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(post ? "POST" : "PUT", upload.url);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(new UploadError(`The storage refused the file (${xhr.status}). Request a new import and try again.`));
      }
    };
    xhr.onerror = () => reject(new UploadError("The file could not be sent: the connection failed."));
    xhr.send(body);
  });
}
