// Starts Swagger UI on /api/docs. A file of its own, because the page's CSP allows no inline script.
/* global SwaggerUIBundle */
'use strict';
window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  // Without deep links an operation's path is text, not a link nested in the button that opens it.
  deepLinking: false,
  // Never ask validator.swagger.io (or anything else off this server) about the document.
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
  docExpansion: 'list',
  tryItOutEnabled: false,
  persistAuthorization: false,
});
