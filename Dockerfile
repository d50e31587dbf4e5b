FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm run build
EXPOSE 3000 1883 8083
CMD ["node", "platform/dist/main.js", "--vehicles", "3"]
